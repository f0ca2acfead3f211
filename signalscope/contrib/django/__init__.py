"""signalscope as a Django app: add "signalscope.contrib.django" to INSTALLED_APPS.

- `manage.py check` then runs signalscope's rules as system checks (tag
  "signals"), with ids signalscope.E001 (rule SS001, an error rule) ...
  signalscope.E007 (SS007), E for an error rule and W for a warning one
  (signalscope.W006); silence one with SILENCED_SYSTEM_CHECKS as usual.
  They are Warnings by default, so they never stop migrate, runserver or
  test; SIGNALSCOPE = {"CHECKS_FAIL_ON": "error"} (or "warning") makes
  them Errors, for CI.
- `manage.py signalscope list|graph|impact|check|snapshot|diff|report ...`
  runs the signalscope command line in the project's own process, with the
  same options.
"""
