"""chat(8), built in: pppd's ``connect "chat ..."`` and ``pyppp chat`` run scripts unchanged.

chat runs a script of *expect/send* pairs on a serial line: wait for a string (with a timeout),
then send one, and so on. pppd's users write these scripts; this package runs them, sans-IO:

* :mod:`pyppp.pppd.chat.script`: chat's command line and script syntax (argv words or a
  ``-f`` file), compiled into steps (:class:`~pyppp.pppd.chat.script.ChatScript`); errors are
  :class:`~pyppp.pppd.chat.script.ChatScriptError` with chat's exit status;
* :mod:`pyppp.pppd.chat.engine`: :class:`~pyppp.pppd.chat.engine.ChatEngine` runs the steps:
  bytes and ``now`` in, bytes, actions and deadlines out, chat's exit status at the end;
* :mod:`pyppp.pppd.chat.command`: recognises a ``connect`` value that is just ``chat ...``
  (:func:`~pyppp.pppd.chat.command.parse_connect_command`).

The shell that reads files and moves bytes is :mod:`pyppp.aio.engines` (the driver and the file
reader), used by :mod:`pyppp.aio.prelude` (for pppd) and
:mod:`pyppp.cli.chat` (the ``pyppp chat`` command).
"""
