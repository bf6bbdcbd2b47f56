"""Options of the [baremetal_m2] group in tempest.conf.

The tests also read Ironic's own groups, registered by ironic-tempest-plugin:
[service_available] ironic, [baremetal] driver, min_microversion and
max_microversion.
"""

from oslo_config import cfg

baremetal_m2_group = cfg.OptGroup(
    name="baremetal_m2",
    title="m2 Bare Metal service tests",
    help="Options of the m2 tempest plugin. The Bare Metal endpoint comes "
    "from the service catalog ([baremetal] catalog_type).",
)

BaremetalM2Group = [
    cfg.IntOpt(
        "deploy_timeout",
        default=300,
        min=1,
        help="Seconds a node may take to reach 'active' after a deploy, or "
        "'available' after an undeploy.",
    ),
    cfg.IntOpt(
        "state_timeout",
        default=60,
        min=1,
        help="Seconds a node may take for manage, provide and power changes.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=1.0,
        min=0.1,
        help="Seconds between two reads of a node while waiting for a state.",
    ),
    cfg.BoolOpt(
        "ceph_available",
        default=False,
        help="Whether m2 reaches a Ceph cluster (with its images and disks "
        "pools) and a tgtd, so that images can hold data and nodes deploy "
        "with the m2 deploy interface. Tests that need them are skipped "
        "otherwise; without Ceph, m2 must answer them with a clean 503.",
    ),
    cfg.StrOpt(
        "expected_max_microversion",
        default=None,
        help="When set, the maximum API microversion the service must "
        "advertise, e.g. 1.65. Catches an accidental change of the API level.",
    ),
]
