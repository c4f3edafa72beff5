"""The Language Server Protocol server (`clinic-kg lsp`): the project's diagnostics in editors."""
