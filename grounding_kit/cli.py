"""The ``grounding-kit`` console command: ``doctor``, ``train`` and ``dashboard``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence


def _doctor(args: argparse.Namespace) -> int:
    from .diagnostics import doctor

    report = doctor(hub_timeout=args.hub_timeout)
    print(report.text())
    return 0 if report.ok else 1


def _train(args: argparse.Namespace) -> int:
    from .models import training

    trainers = {"tiny-clip": training.train_tiny_clip, "tiny-vqa": training.train_tiny_vqa}
    summary = trainers[args.model](output_dir=args.output_dir, steps=args.steps, seed=args.seed)
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from .dashboard import serve

    return serve(port=args.port, host="0.0.0.0" if args.room else "127.0.0.1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grounding-kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="check the installation, models, hub and caches")
    doctor.add_argument("--hub-timeout", type=float, default=3.0,
                        help="seconds to wait for the model hub (default: 3)")
    doctor.set_defaults(run=_doctor)

    train = commands.add_parser("train", help="retrain an embedded tiny model")
    train.add_argument("model", choices=["tiny-clip", "tiny-vqa"])
    train.add_argument("--output-dir", type=Path, default=None,
                       help="where to save it (default: the shipped folder under data/models)")
    train.add_argument("--steps", type=int, default=None, help="training steps (default: the shipped recipe)")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(run=_train)

    dashboard = commands.add_parser("dashboard", help="serve the live-demo dashboard with Voila")
    dashboard.add_argument("--port", type=int, default=8866)
    dashboard.add_argument("--room", action="store_true",
                           help="listen on all interfaces so the room can connect (default: 127.0.0.1 only)")
    dashboard.set_defaults(run=_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
