"""pppd's ``connect`` value -> chat's argv, when the command is a plain ``chat ...``."""

from __future__ import annotations

from typing import Final

__all__ = ["parse_connect_command"]

_CHAT_PROGRAMS: Final = frozenset({"chat", "/usr/sbin/chat", "/usr/bin/chat", "/sbin/chat"})
_SHELL_SPECIAL: Final = frozenset("|&;<>()`$*?[]{}~\n")


def _shell_words(cmdline: str) -> list[str] | None:
    """Split a POSIX shell command into words.

    Returns None if it uses anything beyond plain words and quoting (pipes, redirections,
    expansions, globs), which only a shell can run.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(cmdline)
    while i < n:
        ch = cmdline[i]
        if ch in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        in_word = True
        if ch == "'":
            end = cmdline.find("'", i + 1)
            if end < 0:
                return None
            current.append(cmdline[i + 1 : end])
            i = end + 1
        elif ch == '"':
            i += 1
            while i < n and cmdline[i] != '"':
                c = cmdline[i]
                if c in "$`":
                    return None
                if c == "\\" and i + 1 < n and cmdline[i + 1] in '$`"\\\n':
                    current.append(cmdline[i + 1])
                    i += 2
                    continue
                current.append(c)
                i += 1
            if i >= n:
                return None
            i += 1
        elif ch == "\\":
            if i + 1 >= n:
                return None
            current.append(cmdline[i + 1])
            i += 2
        elif ch in _SHELL_SPECIAL or (ch == "#" and not current):
            return None
        else:
            current.append(ch)
            i += 1
    if in_word:
        words.append("".join(current))
    return words


def parse_connect_command(cmdline: str) -> list[str] | None:
    """Recognise a pppd ``connect`` command that just runs chat(8).

    pppd hands its ``connect`` value to ``/bin/sh -c``. When that command is a plain chat
    invocation (``chat ...``, ``/usr/sbin/chat ...``, ``exec chat ...``) pyppp runs the script
    with the built-in engine instead of a process; anything needing a shell (pipes,
    redirections, ``$VAR``, globs) returns None and is run by the shell as pppd would.

    Note on the Serial-Laplink-HOWTO's unquoted line ``connect chat -v -f FILE`` in an options
    file: pppd's option parser splits words on blanks, gives ``connect`` the single word
    ``chat``, and then fails on ``-v`` with ``In file ...: unrecognized option '-v'`` (exit 2).
    So the connect value this function sees for that line is ``"chat"`` alone; the options
    parser decides whether to mirror pppd's error.

    Args:
        cmdline: the ``connect`` option's value.

    Returns:
        chat's argv without the program name, or None when it is not a plain chat command.
    """
    words = _shell_words(cmdline)
    if not words:
        return None
    if words[0] == "exec":
        words = words[1:]
    if not words or words[0] not in _CHAT_PROGRAMS:
        return None
    return words[1:]
