//! One function per subcommand.

use crate::progress::Bars;
use crate::{Cli, Command};
use anyhow::{bail, Context, Result};
use cadastra_pipeline::run::{RunOptions, RunOutcome};
use std::path::Path;
use std::process::ExitCode;

pub fn dispatch(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Sample { out, parcels, seed } => sample(cli, out, *parcels, *seed),
        Command::Check { pipeline } => check(cli, pipeline),
        Command::Run {
            pipeline,
            registry,
            out,
            decisions,
            unmask,
        } => run(
            cli,
            pipeline,
            registry,
            out,
            decisions.as_deref(),
            *unmask,
            true,
        ),
        Command::Validate {
            inputs,
            as_layer,
            key,
            sources,
            out,
        } => {
            let reg = out.join("registry.gpkg").display().to_string();
            if inputs.len() == 1 && inputs[0].extension().is_some_and(|e| e == "toml") {
                let mut plan = match load_plan(&inputs[0]) {
                    Ok(p) => p,
                    Err(errs) => {
                        print_config_errors(cli, &inputs[0], &errs);
                        return Ok(ExitCode::from(2));
                    }
                };
                plan.only_sources(sources).map_err(|e| anyhow::anyhow!(e))?;
                return run_plan(cli, plan, &reg, out, None, false, false);
            }
            if !sources.is_empty() {
                bail!("--source picks sources of a pipeline file; plain files are all validated");
            }
            let Some(as_layer) = as_layer else {
                bail!("plain files need --as parcel|building (or give a pipeline file)");
            };
            let plan = cadastra_pipeline::quick::plan_for_files(inputs, as_layer, key.as_deref())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            run_plan(cli, plan, &reg, out, None, false, false)
        }
        Command::Inspect {
            paths,
            encoding,
            chinese,
        } => crate::commands::inspect::inspect(cli, paths, encoding.as_deref(), *chinese),
        Command::Crs { command } => crs(cli, command),
        Command::Export {
            registry,
            format,
            out,
            layer,
            filter,
            district,
            unmask,
        } => deliverables::export(
            cli,
            cadastra_export::ExportRequest {
                registry: registry.clone(),
                format: cadastra_export::ExportFormat::parse(format)
                    .ok_or_else(|| anyhow::anyhow!("unknown --format {format}"))?,
                out: out.clone(),
                layers: layer.clone(),
                filter: filter.clone(),
                district: district.clone(),
                unmask: *unmask,
            },
        ),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&cadastra_pipeline::spec::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn crs(cli: &Cli, command: &crate::CrsCommand) -> Result<ExitCode> {
    use cadastra_crs::{fit, read_control_points, Convention, CrsRef, FitSpec, Model, SurveyAxes};
    let crate::CrsCommand::Fit {
        control,
        model,
        convention,
        source,
        target,
        x_north,
        x_east,
        out,
    } = command;
    let model = if model == "7p" {
        Model::SevenParam
    } else {
        Model::FourParam
    };
    let source: CrsRef = source
        .clone()
        .unwrap_or_else(|| {
            if model == Model::SevenParam {
                "EPSG:2384".into()
            } else {
                "local".into()
            }
        })
        .parse()
        .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let target: CrsRef = target
        .parse()
        .map_err(|e| anyhow::anyhow!("--target: {e}"))?;
    let axes = match (x_north, x_east) {
        (true, _) => Some(SurveyAxes::XNorth),
        (_, true) => Some(SurveyAxes::XEast),
        _ => None,
    };
    let points = read_control_points(control, axes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut spec = FitSpec::new(model, source, target);
    spec.convention = convention.as_deref().map(|c| {
        if c == "coordinate_frame" {
            Convention::CoordinateFrame
        } else {
            Convention::PositionVector
        }
    });
    let report = fit(&points, &spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    report
        .write_params(out)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let errors = report
        .residuals
        .iter()
        .filter(|r| r.flag == Some(cadastra_model::Severity::E))
        .count();
    if cli.json {
        let residuals: Vec<serde_json::Value> = report
            .residuals
            .iter()
            .map(|r| serde_json::json!({"name": r.name, "line": r.line, "de": r.de, "dn": r.dn, "total": r.total, "flag": r.flag.map(|f| f.as_str())}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"model": report.model.as_str(), "points": points.len(), "rms": report.rms, "rms_e": report.rms_e, "rms_n": report.rms_n, "max": report.max, "redundancy": report.redundancy, "residuals": residuals, "notes": report.notes, "params_file": out.display().to_string()})
        );
    } else {
        print!("{}", report.residual_table());
        println!(
            "parameter file written: {} (keep it on the isolated network; never commit it)",
            out.display()
        );
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn sample(cli: &Cli, out: &Path, parcels: usize, seed: u64) -> Result<ExitCode> {
    let opts = cadastra_sample::SampleOptions { parcels, seed };
    let bars = Bars::new(cli.quiet || cli.json);
    use cadastra_pipeline::run::Progress;
    let mut last = String::new();
    let summary =
        cadastra_sample::generate(out, &opts, &mut |stage: &str, done: u64, total: u64| {
            if stage != last {
                bars.done();
                bars.stage(stage, total);
                last = stage.to_string();
            }
            let _ = done;
            bars.inc(1);
        })
        .with_context(|| format!("generating the sample world into {}", out.display()))?;
    bars.done();
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "sample world written to {} (seed {seed}, {parcels} legacy parcels)",
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn load_plan(
    pipeline: &Path,
) -> Result<cadastra_pipeline::Plan, Vec<cadastra_pipeline::ConfigError>> {
    let file = cadastra_pipeline::load(pipeline)?;
    cadastra_pipeline::compile(&file)
}

fn print_config_errors(cli: &Cli, pipeline: &Path, errs: &[cadastra_pipeline::ConfigError]) {
    if cli.json {
        println!(
            "{}",
            serde_json::json!({"pipeline": pipeline.display().to_string(), "ok": false, "problems": errs})
        );
    } else {
        for e in errs {
            eprintln!("{e}");
        }
        eprintln!("{}: {} problem(s)", pipeline.display(), errs.len());
    }
}

fn check(cli: &Cli, pipeline: &Path) -> Result<ExitCode> {
    let plan = match load_plan(pipeline) {
        Ok(p) => p,
        Err(errs) => {
            print_config_errors(cli, pipeline, &errs);
            return Ok(ExitCode::from(2));
        }
    };
    // driver checks: files readable, mapped source fields present (moves no data into the registry)
    let mut problems = Vec::new();
    for s in &plan.sources {
        let Some(d) = cadastra_pipeline::sources::driver(&s.kind) else {
            continue;
        };
        match d.fields(s) {
            Err(e) => problems.push(e.to_string()),
            Ok(fields) => {
                let mut need: Vec<String> = s.key.clone();
                for t in &s.targets {
                    if let Some(w) = &t.when {
                        need.push(w.field.clone());
                    }
                    for (_, m) in &t.fields {
                        need.extend(m.from.iter().cloned());
                        need.extend(m.unit_field.iter().cloned());
                        for p in m.concat.iter().flatten() {
                            if !p.starts_with('\'') {
                                need.push(p.clone());
                            }
                        }
                    }
                }
                need.sort();
                need.dedup();
                for n in need {
                    if !fields.contains(&n) {
                        problems.push(format!(
                            "source {} ({}): field {n} is not in the file (fields: {})",
                            s.name,
                            s.display_path,
                            fields.join(", ")
                        ));
                    }
                }
            }
        }
    }
    if cli.json {
        println!(
            "{}",
            serde_json::json!({"pipeline": pipeline.display().to_string(), "ok": problems.is_empty(), "sources": plan.sources.len(), "problems": problems})
        );
    } else if problems.is_empty() {
        println!(
            "{}: ok ({} sources)",
            pipeline.display(),
            plan.sources.len()
        );
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn run(
    cli: &Cli,
    pipeline: &Path,
    registry: &str,
    out: &Path,
    decisions: Option<&Path>,
    unmask: bool,
    write: bool,
) -> Result<ExitCode> {
    let plan = match load_plan(pipeline) {
        Ok(p) => p,
        Err(errs) => {
            print_config_errors(cli, pipeline, &errs);
            return Ok(ExitCode::from(2));
        }
    };
    run_plan(cli, plan, registry, out, decisions, unmask, write)
}

fn run_plan(
    cli: &Cli,
    plan: cadastra_pipeline::Plan,
    registry: &str,
    out: &Path,
    decisions: Option<&Path>,
    unmask: bool,
    write: bool,
) -> Result<ExitCode> {
    if write && !registry.starts_with("postgres") {
        if let Some(dir) = Path::new(registry).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
    }
    let opts = RunOptions {
        registry: registry.to_string(),
        out_dir: out.to_path_buf(),
        write,
        decisions: decisions.map(Path::to_path_buf),
        unmask,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        actor: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
    };
    let bars = Bars::new(cli.quiet || cli.json);
    let outcome: RunOutcome = match cadastra_pipeline::run::run(&plan, &opts, &bars) {
        Ok(o) => o,
        Err(e) => bail!("{e}"),
    };
    let s = &outcome.summary;
    let json = serde_json::to_string_pretty(s)?;
    std::fs::write(out.join("run-summary.json"), &json)
        .with_context(|| format!("writing {}", out.display()))?;
    // ---- deliverables (cadastra-report): report.html, findings.xlsx, QGIS styles + project
    let delivered = deliverables::after_run(&outcome, registry, out, unmask, write)?;
    if cli.json {
        println!("{json}");
    } else {
        print!("{}", s.to_text());
        if write {
            println!(
                "\nregistry: {}  (open it in QGIS; run summary: {})",
                s.registry,
                out.join("run-summary.json").display()
            );
        }
        for line in &delivered {
            println!("{line}");
        }
    }
    if !s.balanced() {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

pub mod inspect {
    use crate::Cli;
    use anyhow::Result;
    use std::path::PathBuf;
    use std::process::ExitCode;

    pub fn inspect(
        cli: &Cli,
        paths: &[PathBuf],
        encoding: Option<&str>,
        chinese: bool,
    ) -> Result<ExitCode> {
        let mut all = Vec::new();
        let mut failed = false;
        for p in paths {
            match cadastra_pipeline::inspect::inspect_path(p, encoding, chinese) {
                Ok(layers) => all.extend(layers),
                Err(e) => {
                    failed = true;
                    eprintln!("cadastra: {}: {e}", p.display());
                    all.push(serde_json::json!({"path": p.display().to_string(), "error": e.to_string()}));
                }
            }
        }
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&all)?);
        } else {
            for l in &all {
                print!("{}", cadastra_pipeline::inspect::to_text(l));
            }
        }
        Ok(if failed {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// Deliverables people open (crates/cadastra-report, crates/cadastra-export): the run report,
/// the findings workbook, QGIS styles and project after a run; `cadastra export`.
pub mod deliverables {
    use crate::Cli;
    use anyhow::{Context, Result};
    use cadastra_pipeline::run::RunOutcome;
    use std::path::Path;
    use std::process::ExitCode;

    /// After a run: style the registry GeoPackage for QGIS, describe the run in its metadata,
    /// write the `.qgz` project next to it, then `report.html` and `findings.xlsx` in `out`.
    /// Returns the lines to show the user.
    pub fn after_run(
        outcome: &RunOutcome,
        registry: &str,
        out: &Path,
        unmask: bool,
        write: bool,
    ) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        let gpkg = (write && !registry.starts_with("postgres")).then(|| Path::new(registry));
        if let Some(reg) = gpkg {
            let styled = cadastra_report::style_registry(reg)
                .with_context(|| format!("styling {} for QGIS", reg.display()))?;
            cadastra_report::write_run_metadata(reg, &outcome.summary)
                .with_context(|| format!("writing run metadata into {}", reg.display()))?;
            let qgz = reg.with_extension("qgz");
            let title = format!("cadastra {}", outcome.summary.run_id);
            cadastra_report::write_project(reg, &qgz, &title, None)
                .with_context(|| format!("writing the QGIS project {}", qgz.display()))?;
            lines.push(format!(
                "QGIS project: {} (default styles for {})",
                qgz.display(),
                styled.join(", ")
            ));
        }
        let input = cadastra_report::ReportInput {
            summary: &outcome.summary,
            findings: &outcome.findings,
            registry: gpkg,
            unmask,
            options: Default::default(),
        };
        let files = cadastra_report::write_reports(&input, out)
            .with_context(|| format!("writing the run report into {}", out.display()))?;
        lines.push(format!(
            "report: {} ({} findings, {} maps, {:.1} MB, {:.2}s); workbook: {}{}",
            files.html.display(),
            files.stats.findings,
            files.stats.maps,
            files.stats.bytes as f64 / 1e6,
            files.stats.seconds,
            files.xlsx.display(),
            if unmask {
                "  [personal data UNMASKED]"
            } else {
                ""
            }
        ));
        Ok(lines)
    }

    /// `cadastra export`.
    pub fn export(cli: &Cli, req: cadastra_export::ExportRequest) -> Result<ExitCode> {
        let s = cadastra_export::export(&req)?;
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            for l in &s.layers {
                println!(
                    "{:<14} {:>9} of {:>9} rows  {}",
                    l.layer,
                    l.rows,
                    l.read,
                    l.files.join(" ")
                );
            }
            if !s.masked_fields.is_empty() {
                println!(
                    "masked (use --unmask for the full values): {}",
                    s.masked_fields.join(", ")
                );
            }
        }
        if !cli.quiet {
            for n in &s.notes {
                eprintln!("note: {n}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
