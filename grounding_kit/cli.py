"""The ``grounding-kit`` console command: ``doctor``, ``train``, ``dashboard``, ``present``, ``course init`` and ``hub init``.

Arguments are checked before any work starts; a bad one ends the command with a one-line
``grounding-kit <command>: error: ...`` and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable, Sequence


def _number(convert: Callable[[str], float], minimum: float, maximum: float, what: str) -> Callable[[str], float]:
    """An argparse ``type`` accepting numbers in [minimum, maximum] (finite)."""
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


POSITIVE_INT = _number(int, 1, math.inf, "an integer >= 1")
SEED = _number(int, 0, 2**63 - 1, "a seed (an integer >= 0)")
PORT = _number(int, 1, 65535, "a TCP port (an integer in 1..65535)")
TIMEOUT = _number(float, 1e-3, 3600, "a timeout in seconds (a number > 0, at most 3600)")


class CommandError(Exception):
    """A command refused its arguments before doing any work (printed as one line)."""


def _check_train(args: argparse.Namespace) -> None:
    from grounding_kit.models.registry import TINY_CLIP, TINY_VQA, embedded_path
    from grounding_kit.core.paths import check_output_dir

    if args.recipe is not None and args.model != "tiny-clip":
        raise CommandError(f"--recipe is for tiny-clip only, got it with {args.model}")
    shipped = embedded_path({"tiny-clip": TINY_CLIP, "tiny-vqa": TINY_VQA, "tiny-audio": "tiny-audio",
                             "tiny-audio-supervised": "tiny-audio-supervised"}[args.model])
    try:
        args.output_dir = check_output_dir(args.output_dir, shipped, overwrite_shipped=args.overwrite_shipped,
                                           option="--output-dir")
    except (ValueError, TypeError, OSError) as err:
        raise CommandError(str(err).replace("overwrite_shipped=True (CLI: --overwrite-shipped)",
                                            "--overwrite-shipped")) from None


def _check_dashboard(args: argparse.Namespace) -> None:
    from grounding_kit.dashboard.server import check_port_free

    try:
        check_port_free(args.port, "0.0.0.0" if args.room else "127.0.0.1")
    except OSError as err:
        raise CommandError(str(err)) from None


def _check_room(args: argparse.Namespace) -> None:
    """``dashboard``'s room options (``--seats``, ``--pool``, ``--cull-idle``): with ``--room`` only;
    sets ``args.room_setup`` (a :class:`grounding_kit.dashboard.server.Room`, or None)."""
    from grounding_kit.dashboard.server import ROOM_CULL_IDLE_S, ROOM_POOL, Room, room_seats

    given = [f"--{name.replace('_', '-')}" for name in ("seats", "pool", "cull_idle") if getattr(args, name) is not None]
    if given and not args.room:
        raise CommandError(f"{', '.join(given)} set up a room: give --room too")
    args.room_setup = None
    if args.room:
        seats = args.seats if args.seats is not None else room_seats()
        pool = args.pool if args.pool is not None else min(ROOM_POOL, seats)
        try:
            args.room_setup = Room(seats=seats, pool=pool, cull_idle_s=args.cull_idle or ROOM_CULL_IDLE_S)
        except ValueError as err:
            raise CommandError(f"--pool {pool} is more than --seats {seats}: pre-heated kernels fill free seats") \
                if pool > seats else CommandError(str(err)) from None
    _check_dashboard(args)


def _doctor(args: argparse.Namespace) -> int:
    from grounding_kit.diagnostics import doctor

    report = doctor(hub_timeout=args.hub_timeout, in_child=False)
    print(report.text())
    return 0 if report.ok else 1


def _train(args: argparse.Namespace) -> int:
    from functools import partial

    from grounding_kit.models import training

    trainers = {"tiny-clip": training.train_tiny_clip, "tiny-vqa": training.train_tiny_vqa,
                "tiny-audio": partial(training.train_tiny_audio, target="image"),
                "tiny-audio-supervised": partial(training.train_tiny_audio, target="text")}
    recipe = {"recipe": args.recipe} if args.recipe is not None else {}
    summary = trainers[args.model](output_dir=args.output_dir, steps=args.steps, seed=args.seed,
                                   overwrite_shipped=args.overwrite_shipped, **recipe)
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from grounding_kit.dashboard import serve

    return serve(port=args.port, host="0.0.0.0" if args.room else "127.0.0.1", room=args.room_setup)


def _course(args: argparse.Namespace) -> int:
    from grounding_kit.course.nbgrader import init_course_cli

    try:
        return init_course_cli(args.directory, args.only, args.force)
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        print(f"grounding-kit course init: error: {err}", file=sys.stderr)
        return 2


def _hub(args: argparse.Namespace) -> int:
    from grounding_kit.course.hub import ClassSettings, init_hub, next_steps, student_names

    students = args.student or student_names(args.students)
    settings = ClassSettings(students=students, instructors=args.instructor or ["instructor"],
                             mem_limit=args.mem_limit, cull_idle_seconds=args.cull_idle, ip=args.ip,
                             port=args.port, hub_port=args.hub_port, proxy_api_port=args.proxy_api_port)
    try:
        written = init_hub(args.directory, settings, assignments=args.only, force=args.force)
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        print(f"grounding-kit hub init: error: {err}", file=sys.stderr)
        return 2
    for what, path in written.items():
        print(f"{what}: {path}")
    print(next_steps(args.directory))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from grounding_kit.models.cards import recorded_recipes, shipped_record
    from grounding_kit.models.registry import TINY_CLIP

    parser = argparse.ArgumentParser(prog="grounding-kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="check the installation, models, hub and caches")
    doctor.add_argument("--hub-timeout", type=TIMEOUT, default=3.0,
                        help="seconds to wait for the model hub (default: 3)")
    doctor.set_defaults(run=_doctor)

    train = commands.add_parser("train", help="retrain an embedded tiny model")
    train.add_argument("model", choices=["tiny-clip", "tiny-vqa", "tiny-audio", "tiny-audio-supervised"])
    train.add_argument("--output-dir", type=Path, default=None,
                       help="where to save it: a new or empty folder, or a previous training output")
    train.add_argument("--overwrite-shipped", action="store_true",
                       help="allow writing into the shipped data/models (the default folder without --output-dir)")
    train.add_argument("--steps", type=POSITIVE_INT, default=None, help="training steps, >= 1 (default: the recipe's)")
    train.add_argument("--seed", type=SEED, default=0)
    try:  # the recipe and version are read from the record, never typed here
        clip, recipes = shipped_record(TINY_CLIP), recorded_recipes(TINY_CLIP)
        recipe_help = (f"the shipped model's, {clip['recipe']!r}, version {clip['version']}, as recorded in "
                       f"data/models/{TINY_CLIP}/training.json; see its model card")
    except FileNotFoundError as err:  # a data folder without the shipped models: train still checks --recipe
        recipes, recipe_help = None, f"the shipped model's; its record is missing ({err})"
    train.add_argument("--recipe", choices=recipes, default=None,
                       help=f"tiny-clip only: the training recipe (default: {recipe_help})")
    train.set_defaults(run=_train, check=_check_train)

    dashboard = commands.add_parser("dashboard", help="serve the live-demo dashboard with Voila")
    dashboard.add_argument("--port", type=PORT, default=8866, help="TCP port, 1..65535 (default: 8866)")
    dashboard.add_argument("--room", action="store_true",
                           help="serve a room: listen on all interfaces, pre-heat kernels, cap the visitors "
                                "(default: 127.0.0.1 only, one kernel per visit)")
    dashboard.add_argument("--seats", type=POSITIVE_INT, default=None,
                           help="with --room: visitors served at once; the next one gets a 'room is full' page "
                                "(default: 3/4 of this machine's memory in 500 MB kernels)")
    dashboard.add_argument("--pool", type=_number(int, 0, math.inf, "an integer >= 0"), default=None,
                           help="with --room: kernels pre-heated before visitors come, within the seats "
                                "(default: 20, or --seats if fewer; 0: none)")
    dashboard.add_argument("--cull-idle", type=POSITIVE_INT, default=None,
                           help="with --room: shut down a visitor's kernel idle this many seconds with no page "
                                "open (default: 600)")
    dashboard.set_defaults(run=_dashboard, check=_check_room)

    present = commands.add_parser("present", help="serve a course notebook as live reveal.js slides with Voila")
    present.add_argument("notebook", help="a notebook in notebooks/ by name (04_emap) or a path to an .ipynb file")
    present.add_argument("--port", type=PORT, default=8867, help="TCP port, 1..65535 (default: 8867)")
    present.add_argument("--room", action="store_true",
                         help="listen on all interfaces so the room can connect (default: 127.0.0.1 only)")
    present.set_defaults(run=_present, check=_check_present)

    course = commands.add_parser("course", help="homework: make an nbgrader course from the notebooks")
    course_commands = course.add_subparsers(dest="course_command", required=True)
    init = course_commands.add_parser("init", help="write an nbgrader course folder (nbgrader_config.py, source/)")
    init.add_argument("directory", type=Path, help="the course folder to create")
    init.add_argument("--only", nargs="*", default=None, metavar="STEM", help="only these notebooks (default: all with exercises)")
    init.add_argument("--force", action="store_true", help="regenerate the sources of an existing course folder")
    init.set_defaults(run=_course)

    hub = commands.add_parser("hub", help="a class: a JupyterHub deployment of the course")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True)
    hinit = hub_commands.add_parser("init", help="write a JupyterHub deployment folder (config, course, exchange, "
                                                 "Zero to JupyterHub values)")
    hinit.add_argument("directory", type=Path, help="the deployment folder to create")
    hinit.add_argument("--students", type=POSITIVE_INT, default=30,
                       help="make this many student accounts student01.. (default: 30)")
    hinit.add_argument("--student", action="append", metavar="NAME", help="a student's user name (repeat; "
                       "replaces --students)")
    hinit.add_argument("--instructor", action="append", metavar="NAME", help="an instructor's user name "
                       "(repeat; default: instructor)")
    hinit.add_argument("--mem-limit", default="1G", help="memory per user, server and kernels (default: 1G)")
    hinit.add_argument("--cull-idle", type=POSITIVE_INT, default=3600, help="stop servers idle this many seconds")
    hinit.add_argument("--ip", default="127.0.0.1", help="where the hub listens (default: 127.0.0.1; 0.0.0.0 for a room)")
    hinit.add_argument("--port", type=PORT, default=8000, help="the hub's public port (default: 8000)")
    hinit.add_argument("--hub-port", type=PORT, default=8081, help="the hub's internal API port (default: 8081)")
    hinit.add_argument("--proxy-api-port", type=PORT, default=8001, help="the proxy's API port (default: 8001)")
    hinit.add_argument("--only", nargs="*", default=None, metavar="STEM", help="only these notebooks as assignments")
    hinit.add_argument("--force", action="store_true", help="rewrite the configuration of an existing deployment")
    hinit.set_defaults(run=_hub)
    return parser


def _check_present(args: argparse.Namespace) -> None:
    from grounding_kit.course.sources import REPO_NOTEBOOKS

    given = Path(args.notebook)
    path = given if given.suffix == ".ipynb" else REPO_NOTEBOOKS / f"{args.notebook}.ipynb"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in REPO_NOTEBOOKS.glob("[0-9]*.ipynb")))
        raise CommandError(f"notebook {path} does not exist; give a course notebook's name ({known}) "
                           "or a path to an .ipynb file")
    args.notebook = path
    _check_dashboard(args)


def _present(args: argparse.Namespace) -> int:
    from grounding_kit.dashboard.server import SLIDES_TEMPLATE, serve

    # pre-heated: the notebook runs once at start-up, so the first slide shows as soon as the page loads
    return serve(port=args.port, host="0.0.0.0" if args.room else "127.0.0.1", notebook=args.notebook,
                 template=SLIDES_TEMPLATE, preheat=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "check"):
            args.check(args)
    except CommandError as err:
        parser.exit(2, f"grounding-kit {args.command}: error: {err}\n")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
