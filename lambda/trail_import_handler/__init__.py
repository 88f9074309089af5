"""Lambda handler that owns one CloudTrail Lake import for CloudFormation.

Entry points:

- ``trail_import_handler.provider.on_event`` / ``is_complete`` for the CDK
  Provider framework (the ``TrailImport`` construct);
- ``trail_import_handler.cfn.handler`` for plain CloudFormation templates
  through crhelper.

Both translate events; every decision lives in ``lifecycle``.
"""
