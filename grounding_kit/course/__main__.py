"""The course commands: ``python -m grounding_kit.course --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence


from grounding_kit.course.sources import REPO_NOTEBOOKS, build, notebook_paths
from grounding_kit.course.slides import EDITIONS, write_slides
from grounding_kit.course.student import write_student_copies


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grounding_kit.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build notebooks/*.ipynb from notebooks/source/*.py")
    build_cmd.add_argument("--source", type=Path, default=REPO_NOTEBOOKS / "source")
    build_cmd.add_argument("--output", type=Path, default=REPO_NOTEBOOKS)
    build_cmd.add_argument("--check", action="store_true", help="only list stale notebooks (exit 1 if any)")
    student = commands.add_parser("student", help="write student copies (solutions stripped)")
    student.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    student.add_argument("--output", type=Path, default=Path("build/student"))
    student.add_argument("--keep-existing", action="store_true",
                         help="leave a copy already in the output folder alone (a student's work)")
    student.add_argument("--colab", default=None, metavar="OWNER/REPO/blob/BRANCH/FOLDER",
                         help="where the student copies will be published on GitHub: each copy then "
                              "starts with a link that opens it on Colab")
    grader = commands.add_parser("nbgrader", help="write an nbgrader course folder (see grounding_kit.course.nbgrader)")
    grader.add_argument("directory", type=Path, help="the course folder to create")
    grader.add_argument("--only", nargs="*", default=None, metavar="STEM", help="only these notebooks")
    grader.add_argument("--force", action="store_true", help="regenerate the sources of an existing course")
    slides = commands.add_parser("slides", help="write reveal.js slide decks")
    slides.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    slides.add_argument("--output", type=Path, default=Path("build/slides"))
    slides.add_argument("--no-execute", dest="execute", action="store_false",
                        help="convert the notebooks as stored (no outputs, no figures)")
    slides.add_argument("--executed", type=Path, default=Path("build/executed"),
                        help="where the executed notebooks are kept (reused by `book`)")
    slides.add_argument("--reveal-url-prefix", default=None, help="where the decks load reveal.js from")
    slides.add_argument("--only", nargs="*", default=None, metavar="STEM", help="convert only these notebooks")
    slides.add_argument("--edition", choices=EDITIONS, default="student",
                        help="student (default: no solution, hidden test or rubric) or instructor (all of "
                             "it, marked on every slide)")
    book = commands.add_parser("book", help="build the course website (Sphinx) in build/book")
    book.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    book.add_argument("--output", type=Path, default=Path("build/book"))
    book.add_argument("--executed", type=Path, default=Path("build/executed"),
                      help="executed notebooks to reuse (as `slides` leaves them)")
    book.add_argument("--edition", choices=EDITIONS, default="student",
                      help="student (default: no solution, hidden test or rubric) or instructor (all of "
                           "it, marked on every page)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "build":
        changed = build(args.source, args.output, check=args.check)
        verb = "stale" if args.check else "rebuilt"
        for path in changed:
            print(f"{verb}: {path}")
        print(f"{len(changed)} notebook(s) {verb}")
        return 1 if args.check and changed else 0
    if args.command == "student":
        try:
            written = write_student_copies(args.notebooks, args.output, keep_existing=args.keep_existing,
                                           colab=args.colab)
        except ValueError as err:
            print(f"error: --colab: {err}", file=sys.stderr)
            return 2
        for path, exercises in written.items():
            print(f"student copy: {path} ({exercises} exercises)")
        return 0
    if args.command == "nbgrader":
        from grounding_kit.course.nbgrader import init_course_cli

        return init_course_cli(args.directory, args.only, args.force)
    if args.command == "book":
        from grounding_kit.course.book import write_book

        index = write_book(notebook_paths(args.notebooks), args.output, executed_dir=args.executed,
                           edition=args.edition)
        print(f"book ({args.edition}'s edition): {index}")
        return 0
    written = write_slides(args.notebooks, args.output, execute=args.execute,
                           reveal_url_prefix=args.reveal_url_prefix, names=args.only,
                           executed_dir=args.executed, edition=args.edition)
    for path in written:
        print(f"slides ({args.edition}'s edition): {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
