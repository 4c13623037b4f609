"""The ``vaednn`` command: generate samples, summarise them, reproduce the analysis, score,
export the likelihoods and the HEPData submission.

Every subcommand shares one error path: a user error (a missing, corrupt or unreadable
file, a bad configuration or sample map, an ntuple that cannot be used) prints one line,
``vaednn <command>: <file>: <problem>``, to stderr and exits with status 2; ``--debug``
shows the traceback instead.

Each subcommand imports what it needs when it runs, so ``vaednn --help``, ``simulate`` and
``summary`` start no deep-learning backend. Tables go to stdout; progress messages go to
the logger ``vaednn`` on stderr (``--quiet`` keeps only warnings and errors).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from vaednn import __version__, data, simulate
from vaednn.extras import MissingExtraError

log = logging.getLogger("vaednn")


def _simulate(args) -> int:
    if args.lhe:
        return _simulate_reweighted(args)
    operators = args.operators or list(simulate.DEFAULT_OPERATORS)
    log.info("vaednn simulate: %d SM events, %d per LIN/QUAD sample, operators %s, seed %d -> %s",
             args.events, args.bsm_events, ", ".join(operators), args.seed, args.out)
    start = time.perf_counter()
    paths = simulate.write_ntuples(args.out, operators=operators, n_events=args.events,
                                   n_bsm=args.bsm_events, seed=args.seed,
                                   overwrite=args.force)
    elapsed = time.perf_counter() - start
    total = args.events + 2 * args.bsm_events * len(operators)
    log.info("wrote %d files, %d events in %.1f s (%s events/s)",
             len(paths), total, elapsed, f"{total / elapsed:,.0f}")
    return 0


def _simulate_reweighted(args) -> int:
    kwargs = {"operators": args.operators} if args.operators else {}
    start = time.perf_counter()
    paths = simulate.write_reweighted(args.out, n_events=args.events, seed=args.seed,
                                      overwrite=args.force, **kwargs)
    log.info("wrote %s (%d SM events with reweighting weights) in %.1f s",
             ", ".join(str(p) for p in paths.values()), args.events,
             time.perf_counter() - start)
    return 0


def _summary(args) -> int:
    import pandas as pd

    operators = args.operators or data.operators_in(args.data)
    if not operators:
        found = "not found" if not Path(args.data).exists() else "no LIN/QUAD ntuples found"
        raise FileNotFoundError(f"{args.data}: {found}")
    samples = [data.read_sample(args.data, "SM")]
    for operator in operators:
        samples += list(data.load_operator(args.data, operator))[1:]
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(f"\nSamples in {args.data} after the VBS cuts ({data.VBS_CUTS}), "
              f"L = {args.luminosity:g} fb^-1:")
        print(data.sample_table(samples, args.luminosity))
        print("\nGenerated samples against the published numbers (shared/PHYSICS.md):")
        for title, table in simulate.physics_summary(args.data, operators=operators).items():
            print(f"\n{title}:")
            print(table)
    return 0


def _reproduce(args) -> int:
    import pandas as pd

    from vaednn import reproduce

    if args.data:
        os.environ["VAEDNN_DATA"] = str(Path(args.data).resolve())
    selected = [reproduce.NOTEBOOKS_DIR / name for name in args.notebooks] if args.notebooks else None
    table = reproduce.run(selected, quick=args.quick, jobs=args.jobs)
    with pd.option_context("display.width", 160, "display.max_rows", 200,
                           "display.float_format", "{:.4g}".format):
        print("\nAUC and smallest |c| seen at 3 sigma (350 fb^-1), per operator and model:")
        print(table.to_string(index=False))
    if not args.quick and reproduce.update_readme(table):
        log.info("refreshed the results table in %s", reproduce.ROOT / "README.md")
    return 0


def score_paths(out: Path, names) -> dict[str, Path]:
    """Where ``vaednn score --out OUT`` writes each sample: ``OUT`` with ``_<sample>`` added.

    >>> score_paths(Path("out/scores.root"), ["SSWW_SM", "SSWW_cW_LI"])["SSWW_cW_LI"].as_posix()
    'out/scores_SSWW_cW_LI.root'
    """
    return {name: out.with_name(f"{out.stem}_{name}{out.suffix}") for name in names}


def _score(args) -> int:
    from vaednn import files, models

    model = files.load_model(args.model)
    if not isinstance(model, models.VAE):
        raise ValueError(f"{args.model}: not a vaednn model ({type(model).__name__})")
    cuts = None if args.cuts.lower() == "none" else args.cuts
    operators = args.operators or data.operators_in(args.data)
    wanted = [("SM", None)] + [(c, op) for op in operators for c in ("LIN", "QUAD")]
    samples = [data.read_sample(args.data, component, operator, cuts=cuts,
                                features=model.features, log_features=model.log_features)
               for component, operator in wanted]
    paths = score_paths(args.out, [sample.name for sample in samples])
    for path in paths.values():
        files.check_writable(path, args.force, inputs=[sample.path for sample in samples])
    for sample in samples:
        losses = models.event_losses(model, sample.features)
        scores = {"reco": losses["reco"], "kl": losses["kl"]}
        if models.is_classifier(model):
            scores["classifier"] = models.classifier_output(model, sample.features)
        data.write_scores(paths[sample.name], sample, scores, overwrite=args.force)
        log.info("%s: %d of %d entries scored (%s) -> %s", sample.name, len(sample),
                 sample.tree_entries, ", ".join(scores), paths[sample.name])
    return 0


def _scan(args) -> int:
    from vaednn import extras

    for module in ("ray", "tqdm"):
        extras.require(module, "vaednn scan")
    from vaednn import scan

    return scan.main_from_args(args.config, data=args.data, out_dir=args.out,
                               address=args.address, resume=not args.no_resume,
                               metric=args.metric, retry_failed=args.retry_failed,
                               num_cpus=args.cpus)


def _export(args) -> int:
    from vaednn import extras

    for module in ("hepdata_lib", "hepdata_validator"):
        extras.require(module, "vaednn export")
    from vaednn import publish

    if args.results is not None and not args.results.is_file():
        raise FileNotFoundError(f"{args.results}: no such results table (--results)")
    records = publish.load_records(args.records)
    out = publish.export(records, args.results, args.out, force=args.force)
    print(out)
    return 0


def _positive_number(text: str) -> float:
    """An argument that must be a finite number > 0 (a luminosity: -1 or nan gives
    negative or NaN yields that look like results)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaednn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="show only warnings and errors, no progress messages")
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="generate SM, LIN and QUAD ntuples")
    sim.add_argument("--out", type=Path, default=data.default_data_dir())
    sim.add_argument("--events", type=int, default=simulate.DEFAULT_EVENTS,
                     help="SM events generated")
    sim.add_argument("--bsm-events", type=int, default=simulate.DEFAULT_BSM_EVENTS,
                     help="events generated per LIN and per QUAD sample")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--operators", nargs="+", help="default: simulate.DEFAULT_OPERATORS")
    sim.add_argument("--force", action="store_true", help="replace ntuples already in --out")
    sim.add_argument("--lhe", action="store_true",
                     help="write instead --events SM events with reweighting weights (c = +-1 "
                          "per operator and a mixed point) as LHE, as a ROOT ntuple with a "
                          "weight vector and its sample map (simulate.write_reweighted)")
    sim.set_defaults(run=_simulate)

    summary = commands.add_parser("summary", help="print the sample table and physics checks")
    summary.add_argument("--data", type=Path, default=data.default_data_dir(),
                         help="a directory of ntuples or a sample map (.toml/.yaml)")
    summary.add_argument("--operators", nargs="+", help="default: every operator found")
    summary.add_argument("--luminosity", type=_positive_number, default=data.LUMINOSITY,
                         help="fb^-1")
    summary.set_defaults(run=_summary)

    rep = commands.add_parser("reproduce", help="run every notebook, write figures/")
    rep.add_argument("--quick", action="store_true", help="small data, few epochs (as CI)")
    rep.add_argument("--data", help="ntuple directory or sample map (default: the notebooks')")
    rep.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                     help="chapters run side by side, each after those whose models it loads "
                          "(default: 2 where there are 2 cores)")
    rep.add_argument("notebooks", nargs="*", help="notebook file names (default: all, in order)")
    rep.set_defaults(run=_reproduce)

    score = commands.add_parser(
        "score", help="write a model's per-event scores, aligned with the input trees",
        description="Score every sample of --data (SM, and LIN and QUAD of each operator) "
                    "with a trained model and write, per sample, a file aligned entry by "
                    "entry with its input tree (NaN outside the cuts): --out scores.root "
                    "gives scores_<tree>.root (friend TTrees with branches reco, kl and, "
                    "for VAE+DNN models, classifier); a .parquet --out gives parquet files.")
    score.add_argument("--model", required=True, type=Path, help="a trained .keras model")
    score.add_argument("--data", required=True, type=Path,
                       help="a sample map (.toml/.yaml) or a directory of ntuples")
    score.add_argument("--out", required=True, type=Path,
                       help="output name, .root or .parquet; _<tree> is added per sample")
    score.add_argument("--operators", nargs="+", help="default: every operator of --data")
    score.add_argument("--cuts", default=data.VBS_CUTS,
                       help="selection on the model's variables, or 'none' "
                            "(default: the VBS cuts)")
    score.add_argument("--force", action="store_true", help="replace existing score files")
    score.set_defaults(run=_score)

    scan = commands.add_parser("scan", help="train and evaluate a grid of models on Ray")
    scan.add_argument("--config", required=True, type=Path, help="grid (YAML), see examples/scan.yaml")
    scan.add_argument("--data", type=Path, help="ntuple directory (default: the config's data)")
    scan.add_argument("--out", type=Path, help="results folder (default: the config's out)")
    scan.add_argument("--address", help="a Ray cluster, e.g. ray://head:10001 (default: local)")
    scan.add_argument("--no-resume", action="store_true", help="retrain finished trials")
    scan.add_argument("--retry-failed", action="store_true", help="rerun trials that failed")
    scan.add_argument("--metric", choices=["AUC", "best_sigma", "min_abs_c", "c_hi_3sigma",
                                           "c_lo_3sigma", "c_plus", "c_minus"],
                      help="rank the summary by this (default AUC; c_plus and c_minus are the "
                           "deprecated names of c_hi_3sigma and c_lo_3sigma)")
    scan.add_argument("--cpus", type=int, help="CPUs Ray may use on this machine")
    scan.set_defaults(run=_scan)

    export = commands.add_parser(
        "export", help="write pyhf workspaces, patchsets and a HEPData submission",
        description="Write, for every record of --records, the background-only pyhf "
                    "workspace, the patchset over c, the two-normfactor workspace and a "
                    "README saying how pyhf alone reproduces the interval, and the HEPData "
                    "submission of them all (vaednn.publish.export; extra [publish]).")
    export.add_argument("--records", required=True, type=Path,
                        help="records.json (vaednn.publish.save_records)")
    export.add_argument("--results", type=Path,
                        help="results.csv, for the AUC table (default: no AUC table)")
    export.add_argument("--out", required=True, type=Path, help="the folder to write")
    export.add_argument("--force", action="store_true",
                        help="write into an existing folder, replacing an earlier export's files")
    export.set_defaults(run=_export)
    return parser


#: What a user can cause and fix: bad files, configurations and maps. Each error the
#: package raises of these types names the file and the problem.
USER_ERRORS = (ValueError, OSError, KeyError, MissingExtraError)


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split()) or type(error).__name__


def _configure_logging(quiet: bool) -> logging.Handler:
    # The command shows the package's messages; a library user configures logging themself.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    return handler


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = _configure_logging(args.quiet)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        if args.debug:
            raise
        log.error("vaednn %s: %s", args.command, _one_line(error))
        return 2
    finally:
        # A caller that runs main() in-process (a test, a notebook) keeps no handler bound
        # to a stderr that may be closed by then.
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)


if __name__ == "__main__":
    sys.exit(main())
