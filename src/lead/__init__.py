"""lead: a ROS 2 driving stack reproducing LEAD (TransFuser v6)."""

__version__ = "0.1.0"
