"""pytest plugin: run the store tests with the prototype fold of bench/usage_prototype.py.

    .venv/bin/python -m pytest tests/test_usage_sql.py -p bench.prototype_plugin

Patches `store.usage.cycle_usage`, which `bot.services.billing_store` looks up at call
time, so every invoice in those tests is computed by the prototype query.
"""

import store.usage
from bench import usage_prototype

store.usage.cycle_usage = usage_prototype.cycle_usage
