"""Example problems, one module per problem, installed as ``pinn.examples``.

Each module is a complete script (``python examples/NAME.py --help``) and is registered by name in
:data:`pinn.cli.PROBLEMS`, so that ``pinn solve NAME`` runs it. See ``examples/burgers.py`` for what
a module provides.
"""
