"""Built-in rules, one module per category; :mod:`b03lint.rules.registry` collects them."""
