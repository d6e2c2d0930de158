"""`heapshape ...` (console script) and `python -m heapshape ...`: execs the native CLI."""
import os
import sys

from heapshape import _locate


def main():
    cli = _locate.cli()
    if not cli:
        sys.stderr.write("heapshape: error: %s\n" % _locate.not_found(_locate.CLI_NAME))
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cli, ["heapshape"] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
