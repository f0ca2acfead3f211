"""signalscope as a Django app: add "signalscope.contrib.django" to INSTALLED_APPS.

- `manage.py check` then runs signalscope's rules as system checks, with ids
  signalscope.E001 (rule SS001, an error) ... signalscope.E007 (SS007), E for
  an error rule and W for a warning one (signalscope.W006); silence one with SILENCED_SYSTEM_CHECKS as usual.
- `manage.py signalscope list|graph|impact|check|trace|snapshot|diff ...`
  runs the signalscope command line in the project's own process, with the
  same options.
"""
