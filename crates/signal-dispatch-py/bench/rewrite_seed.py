"""Makes the original asyncio_dispatch 1.1.0 importable on Python 3.11+.

Its coroutines use `@asyncio.coroutine` and `yield from`, both removed from
asyncio. This rewrites only that, mechanically, into a temporary copy:

- `@asyncio.coroutine` + `def`            ->  `async def`
- `with (yield from LOCK):`               ->  `async with LOCK:`
- `yield from EXPR`                       ->  `await EXPR`

Usage: rewrite_seed.py SOURCE_DIR TARGET_DIR (SOURCE_DIR holds the original
`asyncio_dispatch` package; TARGET_DIR receives `asyncio_dispatch_seed`).
"""
import pathlib
import re
import sys


def rewrite(text):
    text, coroutines = re.subn(r"@asyncio\.coroutine\n(\s*)def ", r"async def ", text)
    text, locks = re.subn(r"with \(yield from ([^)]+)\):", r"async with \1:", text)
    text, awaits = re.subn(r"yield from ", "await ", text)
    if coroutines == 0 or awaits == 0:
        raise SystemExit("the source does not look like asyncio_dispatch 1.1.0")
    return text, coroutines, locks, awaits


def main(source, target):
    source, target = pathlib.Path(source), pathlib.Path(target) / "asyncio_dispatch_seed"
    target.mkdir(parents=True, exist_ok=True)
    text, coroutines, locks, awaits = rewrite((source / "dispatcher.py").read_text())
    (target / "dispatcher.py").write_text(text)
    (target / "__init__.py").write_text((source / "__init__.py").read_text())
    print(f"rewrote {coroutines} coroutines, {locks} lock acquisitions, {awaits} yield-froms")


if __name__ == "__main__":
    main(*sys.argv[1:])
