"""Run a fixture scenario for real and print the tree of signal sends it made, as JSON.

    python real_run.py PROJECT_DIR SCENARIO

Independent of signalscope: it wraps Signal.send at class level for the
duration of the scenario, on an in-memory database made with migrate
--run-syncdb. Each node: {"signal", "sender", "receivers", "children"}:
the receivers the send reached, in the order they ran, and the sends made
while it ran.
"""

import json
import os
import sys


def label(sender):
    meta = getattr(sender, "_meta", None)
    return meta.label if meta is not None and isinstance(sender, type) else repr(sender)


def main():
    project, scenario = sys.argv[1], sys.argv[2]
    sys.path.insert(0, project)
    with open(os.path.join(project, "manage.py")) as handle:
        text = handle.read()
    settings = text.split("DJANGO_SETTINGS_MODULE")[1].split('"')[2]
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django
    from django.conf import settings as conf

    django.setup()
    conf.DATABASES["default"]["NAME"] = ":memory:"
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)

    from django.dispatch import Signal

    names = {}
    for module in list(sys.modules.values()):
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            defined_here = getattr(module, "__name__", "").startswith(("django.db.models.signals", "inventory.signals"))
            if Signal in type(value).__mro__ and id(value) not in names and defined_here:
                names[id(value)] = attr
    root = {"children": []}
    stack = [root]
    original = Signal.send

    def send(self, sender, **named):
        node = {"signal": names.get(id(self), "?"), "sender": label(sender), "children": []}
        stack[-1]["children"].append(node)
        stack.append(node)
        try:
            responses = original(self, sender, **named)
        finally:
            stack.pop()
        node["receivers"] = [f"{r.__module__}:{getattr(r, '__qualname__', type(r).__qualname__)}" for r, _ in responses]
        return responses

    if scenario == "create-user":
        from django.contrib.auth.models import User

        Signal.send = send
        User.objects.create(username="ada")
    elif scenario == "pay-invoice":
        from billing.models import Invoice, Payment
        from inventory.models import Stock

        Stock.objects.create(sku="A-1", level=10)
        invoice = Invoice.objects.create(number="F-1", status="paid")  # paid: the loop is not taken
        Signal.send = send
        Payment.objects.create(invoice=invoice, amount=10)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    Signal.send = original
    json.dump(root["children"], sys.stdout, indent=1)


if __name__ == "__main__":
    main()
