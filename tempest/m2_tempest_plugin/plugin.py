"""Entry point of the m2 tempest plugin (tempest.test_plugins: m2_tests)."""

import os

from tempest import config
from tempest.test_discover import plugins

from m2_tempest_plugin import config as m2_config


class M2TempestPlugin(plugins.TempestPlugin):
    """Loads m2's tests and its [baremetal_m2] options.

    The [baremetal] options and the Bare Metal REST client that m2's client
    extends come from ironic-tempest-plugin, which must be installed alongside.
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
        # Ironic's Bare Metal client comes from ironic-tempest-plugin; m2's
        # extends it (images, volumes, recovery) on the same endpoint:
        # credentials get it as os_<persona>.m2.M2Client().
        m2_client = {
            "name": "m2",
            "service_version": "baremetal_m2",
            "module_path": "m2_tempest_plugin.services.m2_client",
            "client_names": ["M2Client"],
        }
        m2_client.update(config.service_client_config("baremetal"))
        return [m2_client]
