"""Client and openstack CLI commands for m2's own resources.

m2 serves the OpenStack Bare Metal (Ironic) API plus resources of its own:
images, disk volumes, node recovery and undeploy keeping the disk. The
``openstack baremetal m2 ...`` commands of this package drive them.
"""

__version__ = "0.1.0"
