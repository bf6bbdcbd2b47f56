"""Entry point of the m2 tempest plugin (tempest.test_plugins: m2_tests)."""

import os

from tempest import config
from tempest.test_discover import plugins

from m2_tempest_plugin import config as m2_config


class M2TempestPlugin(plugins.TempestPlugin):
    """Loads m2's tests and its [baremetal_m2] options.

    The Bare Metal REST client and the [baremetal] options come from
    ironic-tempest-plugin, which must be installed alongside.
    """

    def load_tests(self):
        base_path = os.path.split(os.path.dirname(os.path.abspath(__file__)))[0]
        test_dir = os.path.join(base_path, "m2_tempest_plugin", "tests")
        return test_dir, base_path

    def register_opts(self, conf):
        config.register_opt_group(conf, m2_config.baremetal_m2_group, m2_config.BaremetalM2Group)

    def get_opt_lists(self):
        return [(m2_config.baremetal_m2_group.name, m2_config.BaremetalM2Group)]

    def get_service_clients(self):
        # The baremetal client is provided by ironic-tempest-plugin.
        return []
