"""The release and plugin API versions: a leaf, so that any module may read them without
importing the package facade."""

__version__ = "0.1.0"
#: The version of the plugin contract (``aexy.plugin_api``): the major part changes when a
#: record, base class or hook changes incompatibly, the minor part when one is added. A plugin
#: states the aexy-core releases it supports in its dependencies (``aexy-core>=0.1,<0.2``);
#: ``docs/plugins.md`` maps API versions to core releases and states the compatibility policy.
PLUGIN_API_VERSION = "1.1"
