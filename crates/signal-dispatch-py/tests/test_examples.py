"""The seed's four documented examples, run as scripts, print what they should."""
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(name):
    result = subprocess.run([sys.executable, "-W", "error", str(EXAMPLES / f"{name}.py")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_basic():
    assert run("basic") == ["sending the signal.", "callback was called!"]


def test_callables():
    lines = run("callables")
    assert sorted(lines[:-1]) == [f"callback{n} was called" for n in range(1, 9)]
    assert lines[-1] == "scheduled 8"


def test_kwargs():
    assert run("kwargs") == [
        "senders= set()", "keys= set()", "my_kwarg= default", "payload= {}",
        "senders= set()", "keys= set()", "my_kwarg= changed with send",
        "payload= {'anything': 'a dict can hold!', 'more': 'stuff'}",
    ]


def test_selective():
    lines = run("selective")
    assert len(lines) == 7
    receivers = [(line.split()[0], line.split("message=")[1]) for line in lines]
    assert sorted(receivers) == sorted([
        ("Mike", "'hello Mike!'"),
        ("Ashley", "'hello Ashley!'"),
        ("Mike", "'important message for Mike'"),
        ("Ashley", "'alert for Ashley'"),
        ("Mike", "'Mike is waiting for books, Ashley for love-notes'"),
        ("Ashley", "'Mike is waiting for books, Ashley for love-notes'"),
        ("Mike", "'Mike is subscribed to three matching keys, but only one message is sent!'"),
    ])
    assert "Ashley received signal #2" in "\n".join(lines)


def test_package_ships_type_information():
    import asyncio_dispatch
    package = pathlib.Path(asyncio_dispatch.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "__init__.pyi").exists()
