"""``python -m vaednn.simulate --check DIR``: whether DIR holds this generator's ntuples."""

from pathlib import Path

from vaednn.simulate.model import DEFAULT_OPERATORS, GENERATOR_VERSION
from vaednn.simulate.ntuples import stale_files

def _main(argv=None) -> int:
    """``python -m vaednn.simulate --check DIR``: exit 0 when DIR holds current data, else 1."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vaednn.simulate",
                                     description="check generated ntuples against this generator")
    parser.add_argument("--check", type=Path, required=True, metavar="DIR",
                        help="directory of generated ntuples")
    parser.add_argument("--operators", nargs="+", default=list(DEFAULT_OPERATORS))
    args = parser.parse_args(argv)
    stale = stale_files(args.check, args.operators)
    if stale:
        print(f"{args.check}: {len(stale)} ntuple(s) missing or not from generator version "
              f"{GENERATOR_VERSION}, e.g. {stale[0].name}")
        return 1
    print(f"{args.check}: ntuples of generator version {GENERATOR_VERSION}, current")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
