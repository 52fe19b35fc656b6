"""Hypothesis strategies that more than one test module draws from."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import strategies as st

from pyppp.ipcp import options as ipcp
from pyppp.options import Option


def ipcp_options(
    addresses: st.SearchStrategy[IPv4Address], *, data_size: int
) -> st.SearchStrategy[Option]:
    """Every IPCP option we decode (RFC 1332, RFC 1877) with ``addresses`` in its address
    fields and up to ``data_size`` octets of IP-Compression-Protocol data."""
    return st.one_of(
        st.builds(ipcp.IpAddresses, addresses, addresses),
        st.builds(
            ipcp.IpCompressionProtocol, st.integers(0, 0xFFFF), st.binary(max_size=data_size)
        ),
        st.builds(ipcp.IpAddress, addresses),
        st.builds(ipcp.PrimaryDns, addresses),
        st.builds(ipcp.PrimaryNbns, addresses),
        st.builds(ipcp.SecondaryDns, addresses),
        st.builds(ipcp.SecondaryNbns, addresses),
    )
