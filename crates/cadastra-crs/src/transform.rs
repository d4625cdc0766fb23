//! Reprojection of geometry in place: rayon over chunks of features, one PROJ object per worker
//! (`map_init`), one PROJ call per coordinate run (ring, line string, chunk of points), never one
//! call per point. Errors name the feature (or coordinate) index; the lowest failing index is
//! reported whatever the thread count.
//!
//! When the operation has a verified native evaluator ([`Native`]), runs are transformed natively;
//! from the first coordinate the native path does not handle, the rest of the run goes to PROJ
//! (instantiated lazily in the worker), so failures keep PROJ's semantics.

use crate::error::CrsError;
use crate::native::Native;
use crate::pj::{Direction, Pj};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Polygon, Triangle};
use rayon::prelude::*;
use std::cell::OnceCell;

/// What a transformation call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformStats {
    /// items in the slice (features, points or coordinates)
    pub items: usize,
    /// `None` items skipped
    pub empty: usize,
    /// coordinates transformed
    pub coordinates: usize,
}

impl std::ops::Add for TransformStats {
    type Output = TransformStats;
    fn add(self, o: TransformStats) -> TransformStats {
        TransformStats {
            items: self.items + o.items,
            empty: self.empty + o.empty,
            coordinates: self.coordinates + o.coordinates,
        }
    }
}

/// A coordinate of a run that could not be transformed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunFailure {
    /// position in the run
    pub offset: usize,
    pub message: String,
}

impl RunFailure {
    /// `offset` counts vertices of a whole feature (rings in order: exterior, then holes,
    /// polygon by polygon, member by member).
    fn describe(&self) -> String {
        format!("vertex {}: {}", self.offset, self.message)
    }

    fn after(mut self, done: usize) -> RunFailure {
        self.offset += done;
        self
    }
}

type RunError = RunFailure;

/// Where a worker transforms: its direction, the native evaluator if any, and PROJ.
pub(crate) trait Backend {
    fn direction(&self) -> Direction;
    fn native(&self) -> Option<&Native>;
    /// The PROJ object (built on first use where that is lazy).
    fn pj(&self) -> Result<&Pj, String>;
}

/// One rayon worker's state: PROJ is only instantiated when needed.
pub(crate) struct Worker<'a> {
    engine: &'a Engine<'a>,
    pj: OnceCell<Result<Pj, String>>,
}

impl Backend for Worker<'_> {
    fn direction(&self) -> Direction {
        self.engine.direction
    }

    fn native(&self) -> Option<&Native> {
        self.engine.native
    }

    fn pj(&self) -> Result<&Pj, String> {
        self.pj
            .get_or_init(|| self.engine.instantiate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Transform one run of coordinates; non-finite input is refused before PROJ sees it.
pub(crate) fn run(b: &dyn Backend, coords: &mut [Coord<f64>]) -> Result<usize, RunError> {
    if let Some((offset, c)) = coords
        .iter()
        .enumerate()
        .find(|(_, c)| !c.x.is_finite() || !c.y.is_finite())
    {
        return Err(RunFailure {
            offset,
            message: format!("non-finite coordinate ({}, {})", c.x, c.y),
        });
    }
    let dir = b.direction();
    let start = match b.native() {
        Some(n) => n.trans(coords, dir),
        None => 0,
    };
    if start < coords.len() {
        let pj = b.pj().map_err(|message| RunFailure {
            offset: start,
            message,
        })?;
        pj.trans_coords(&mut coords[start..], dir)
            .map_err(|f| RunFailure {
                offset: start + f.index,
                message: format!("cannot be transformed: {}", f.message),
            })?;
    }
    Ok(coords.len())
}

fn polygon(b: &dyn Backend, p: &mut Polygon<f64>) -> Result<usize, RunError> {
    let mut n = 0;
    p.try_exterior_mut(|ls| {
        n += run(b, &mut ls.0)?;
        Ok::<(), RunError>(())
    })?;
    p.try_interiors_mut(|rings| {
        for ls in rings {
            n += run(b, &mut ls.0).map_err(|f| f.after(n))?;
        }
        Ok::<(), RunError>(())
    })?;
    Ok(n)
}

pub(crate) fn multipolygon(b: &dyn Backend, mp: &mut MultiPolygon<f64>) -> Result<usize, RunError> {
    let mut n = 0;
    for p in &mut mp.0 {
        n += polygon(b, p).map_err(|f| f.after(n))?;
    }
    Ok(n)
}

fn points_run(b: &dyn Backend, pts: &mut [Point<f64>]) -> Result<usize, RunError> {
    let mut buf: Vec<Coord<f64>> = pts.iter().map(|p| p.0).collect();
    let n = run(b, &mut buf)?;
    for (p, c) in pts.iter_mut().zip(buf) {
        p.0 = c;
    }
    Ok(n)
}

pub(crate) fn geometry(b: &dyn Backend, g: &mut Geometry<f64>) -> Result<usize, RunError> {
    match g {
        Geometry::Point(p) => run(b, std::slice::from_mut(&mut p.0)),
        Geometry::Line(l) => {
            let mut c = [l.start, l.end];
            let n = run(b, &mut c)?;
            (l.start, l.end) = (c[0], c[1]);
            Ok(n)
        }
        Geometry::LineString(ls) => run(b, &mut ls.0),
        Geometry::Polygon(p) => polygon(b, p),
        Geometry::MultiPoint(mp) => points_run(b, &mut mp.0),
        Geometry::MultiLineString(mls) => {
            let mut n = 0;
            for ls in &mut mls.0 {
                n += run(b, &mut ls.0).map_err(|f| f.after(n))?;
            }
            Ok(n)
        }
        Geometry::MultiPolygon(mp) => multipolygon(b, mp),
        Geometry::GeometryCollection(gc) => {
            let mut n = 0;
            for g in &mut gc.0 {
                n += geometry(b, g).map_err(|f| f.after(n))?;
            }
            Ok(n)
        }
        // a rectangle stops being axis-aligned after a rotation: it becomes a polygon
        Geometry::Rect(r) => {
            let mut p = r.to_polygon();
            let n = polygon(b, &mut p)?;
            *g = Geometry::Polygon(p);
            Ok(n)
        }
        Geometry::Triangle(t) => {
            let mut c = [t.v1(), t.v2(), t.v3()];
            let n = run(b, &mut c)?;
            *t = Triangle::new(c[0], c[1], c[2]);
            Ok(n)
        }
    }
}

/// The transformation side of an operation: a definition to instantiate once per worker (where
/// needed) and the verified native evaluator, if any.
pub(crate) struct Engine<'a> {
    pub definition: &'a str,
    pub direction: Direction,
    pub what: &'a str,
    pub native: Option<&'a Native>,
}

/// Items per parallel chunk: several chunks per thread for load balance (each rayon split builds
/// at most one PJ, so PJ construction stays a handful per call).
fn chunk_len(n: usize, min: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    n.div_ceil(threads * 8).max(min)
}

impl<'a> Engine<'a> {
    pub(crate) fn instantiate(&self) -> Result<Pj, CrsError> {
        Pj::from_definition(self.definition).map_err(|e| CrsError::Proj {
            what: format!("operation {}", self.what),
            message: e.0,
        })
    }

    /// A worker's state: without a native evaluator PROJ is instantiated at once (its errors
    /// are reported as before), with one only when a run needs it.
    fn worker(&'a self) -> Result<Worker<'a>, CrsError> {
        let pj = OnceCell::new();
        if self.native.is_none() {
            let _ = pj.set(Ok(self.instantiate()?));
        }
        Ok(Worker { engine: self, pj })
    }

    /// Transform a flat coordinate slice: chunks of coordinates, one PROJ call per chunk.
    pub(crate) fn coords(&self, coords: &mut [Coord<f64>]) -> Result<TransformStats, CrsError> {
        let n = coords.len();
        let one = |w: &Worker, base: usize, part: &mut [Coord<f64>]| {
            run(w, part).map_err(|f| CrsError::Transform {
                item: "coordinate",
                index: base + f.offset,
                reason: f.message,
            })
        };
        let chunk = chunk_len(n, 4096);
        let done = if n <= chunk || rayon::current_num_threads() == 1 {
            one(&self.worker()?, 0, coords)?
        } else {
            let results: Vec<Result<usize, CrsError>> = coords
                .par_chunks_mut(chunk)
                .enumerate()
                .map_init(
                    || self.worker(),
                    |w, (ci, part)| match w {
                        Ok(w) => one(w, ci * chunk, part),
                        Err(e) => Err(self.clone_err(e)),
                    },
                )
                .collect();
            results
                .into_iter()
                .try_fold(0, |acc, r| r.map(|k| acc + k))?
        };
        Ok(TransformStats {
            items: n,
            empty: 0,
            coordinates: done,
        })
    }

    /// Transform optional points: per chunk, the present points are gathered into one buffer and
    /// transformed with one PROJ call.
    pub(crate) fn points(
        &self,
        pts: &mut [Option<Point<f64>>],
    ) -> Result<TransformStats, CrsError> {
        let one = |w: &Worker, base: usize, part: &mut [Option<Point<f64>>]| {
            let (idx, mut buf): (Vec<usize>, Vec<Coord<f64>>) = part
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|p| (i, p.0)))
                .unzip();
            run(w, &mut buf).map_err(|f| CrsError::Transform {
                item: "point",
                // offsets index `buf`, whose entries came from `idx` in order
                index: base + idx.get(f.offset).copied().unwrap_or(0),
                reason: f.message,
            })?;
            for (i, c) in idx.iter().zip(&buf) {
                if let Some(p) = part.get_mut(*i).and_then(Option::as_mut) {
                    p.0 = *c;
                }
            }
            Ok(TransformStats {
                items: part.len(),
                empty: part.len() - buf.len(),
                coordinates: buf.len(),
            })
        };
        let chunk = chunk_len(pts.len(), 4096);
        if pts.len() <= chunk || rayon::current_num_threads() == 1 {
            return one(&self.worker()?, 0, pts);
        }
        let results: Vec<Result<TransformStats, CrsError>> = pts
            .par_chunks_mut(chunk)
            .enumerate()
            .map_init(
                || self.worker(),
                |w, (ci, part)| match w {
                    Ok(w) => one(w, ci * chunk, part),
                    Err(e) => Err(self.clone_err(e)),
                },
            )
            .collect();
        results
            .into_iter()
            .try_fold(TransformStats::default(), |acc, r| Ok(acc + r?))
    }

    fn clone_err(&self, e: &CrsError) -> CrsError {
        CrsError::Proj {
            what: format!("operation {}", self.what),
            message: e.to_string(),
        }
    }

    /// Apply `per_item` to every item, in parallel for large slices. `per_item` returns the
    /// number of coordinates it transformed, or `None` for an empty item.
    pub(crate) fn for_each<T, F>(
        &self,
        items: &mut [T],
        item: &'static str,
        per_item: F,
    ) -> Result<TransformStats, CrsError>
    where
        T: Send,
        F: Fn(&dyn Backend, &mut T) -> Result<Option<usize>, RunError> + Sync,
        F: Send,
    {
        let chunk_stats = |w: &Worker, base: usize, chunk: &mut [T]| {
            let mut st = TransformStats::default();
            for (j, it) in chunk.iter_mut().enumerate() {
                st.items += 1;
                match per_item(w, it) {
                    Ok(Some(n)) => st.coordinates += n,
                    Ok(None) => st.empty += 1,
                    Err(f) => {
                        return Err(CrsError::Transform {
                            item,
                            index: base + j,
                            reason: f.describe(),
                        })
                    }
                }
            }
            Ok(st)
        };
        let chunk = chunk_len(items.len(), 64);
        if items.len() <= chunk || rayon::current_num_threads() == 1 {
            return chunk_stats(&self.worker()?, 0, items);
        }
        let results: Vec<Result<TransformStats, CrsError>> = items
            .par_chunks_mut(chunk)
            .enumerate()
            .map_init(
                || self.worker(),
                |w, (ci, part)| match w {
                    Ok(w) => chunk_stats(w, ci * chunk, part),
                    Err(e) => Err(self.clone_err(e)),
                },
            )
            .collect();
        // chunks are in order and each stops at its first failure: the first Err is the lowest index
        results
            .into_iter()
            .try_fold(TransformStats::default(), |acc, r| Ok(acc + r?))
    }
}
