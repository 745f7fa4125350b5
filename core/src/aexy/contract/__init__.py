"""The plugin contract: every record, base class and helper a plugin implements, receives or
uses, at the bottom of the core (it imports only the leaf modules). Plugins import these names
from :mod:`aexy.plugin_api`, the contract's public face; the modules here are where they live.
"""
