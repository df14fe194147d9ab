"""``b03lint server``: a language server over stdio.

:mod:`~b03lint.server.workspace` keeps the project loaded and re-lints what an edit can
change (:mod:`~b03lint.server.incremental` folds only from the edited revision on); it
imports no LSP library and is what the tests and ``bench/server.py`` drive directly.
:mod:`~b03lint.server.lsp` wires it to ``pygls`` (imported only by ``b03lint server``).
"""
