"""sladesk: an SLA-driven support desk with policies as code and exact business-time clocks."""

__version__ = "0.1.0"
