//! Bad geometry never panics: every public function gets NaN and infinite coordinates, empty
//! and one-point rings, unclosed and collapsed rings, huge coordinates, and answers.

use cadastra_geom::shape::{
    normalize_orientation, remove_vertex_defects, sliver_check, vertex_defects,
};
use cadastra_geom::{
    equal_normalized, find_duplicates, find_gaps, find_gaps_by_group, find_overlaps, hausdorff,
    interiors_intersect, outside_part, overlap, overlap_ratio, relate_areas, validate,
    validate_multipolygon, GapOptions, TopoIndex,
};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

fn mp(rings: Vec<Vec<(f64, f64)>>) -> MultiPolygon<f64> {
    let mut it = rings
        .into_iter()
        .map(|r| LineString(r.into_iter().map(|(x, y)| Coord { x, y }).collect()));
    let shell = it.next().unwrap_or(LineString(vec![]));
    MultiPolygon(vec![Polygon::new(shell, it.collect())])
}

fn bad() -> Vec<MultiPolygon<f64>> {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    vec![
        MultiPolygon(vec![]),
        mp(vec![vec![]]),
        mp(vec![vec![(0., 0.)]]),
        mp(vec![vec![(0., 0.), (1., 1.)]]),
        mp(vec![vec![(0., 0.), (1., 0.), (2., 0.), (0., 0.)]]),
        mp(vec![vec![(0., 0.), (nan, 0.), (1., 1.), (0., 0.)]]),
        mp(vec![vec![(0., 0.), (inf, 0.), (1., 1.), (0., 0.)]]),
        mp(vec![vec![
            (0., 0.),
            (10., 10.),
            (10., 0.),
            (0., 10.),
            (0., 0.),
        ]]),
        mp(vec![vec![], vec![(1., 1.), (2., 1.), (2., 2.), (1., 1.)]]),
        mp(vec![
            vec![(0., 0.), (5., 0.), (5., 5.), (0., 0.)],
            vec![(9., 9.), (9., 9.)],
        ]),
        mp(vec![vec![
            (1e300, 1e300),
            (-1e300, 1e300),
            (0., -1e300),
            (1e300, 1e300),
        ]]),
        mp(vec![vec![(0., 0.), (0., 0.), (0., 0.), (0., 0.)]]),
        mp(vec![vec![
            (0., 0.),
            (10., 0.),
            (10., 10.),
            (0., 10.),
            (0., 0.),
        ]]),
        mp(vec![vec![
            (0., 0.),
            (10., 0.),
            (10., 10.),
            (0., 10.),
            (0., 0.),
        ]]),
    ]
}

#[test]
fn nothing_panics_on_bad_geometry() {
    let geoms = bad();
    for g in &geoms {
        let _ = validate_multipolygon(g);
        let _ = validate(&g.clone().into());
        let _ = vertex_defects(g, 0.001);
        let _ = remove_vertex_defects(g, 0.001);
        let _ = sliver_check(g, 1.0, 0.05);
        let mut h = g.clone();
        let _ = normalize_orientation(&mut h);
        for o in &geoms {
            let _ = interiors_intersect(g, o);
            let _ = relate_areas(g, o);
            let _ = overlap(g, o);
            let _ = outside_part(g, o);
            let _ = hausdorff(g, o);
            let _ = overlap_ratio(g, o);
            let _ = equal_normalized(g, o);
        }
    }
    let opt: Vec<Option<MultiPolygon<f64>>> =
        geoms.iter().cloned().map(Some).chain([None]).collect();
    let _ = TopoIndex::new(&opt).candidate_pairs();
    let _ = find_overlaps(&opt, 0.01, 0.01);
    let _ = find_duplicates(&opt, 0.05);
    let refs: Vec<&MultiPolygon<f64>> = geoms.iter().collect();
    let _ = find_gaps(&refs, &GapOptions::default());
    let groups: Vec<u32> = (0..opt.len() as u32).map(|i| i % 3).collect();
    let _ = find_gaps_by_group(&opt, &groups, &GapOptions::default());
    // the two identical squares at the end are found as duplicates and overlaps
    let n = geoms.len();
    let d = find_duplicates(&opt, 0.0);
    assert!(d.iter().any(|d| (d.i, d.j) == (n - 2, n - 1)));
    assert!(find_overlaps(&opt, 0.01, 0.01)
        .iter()
        .any(|o| (o.i, o.j) == (n - 2, n - 1)));
}
