"""CCP, the Compression Control Protocol (RFC 1962), and the compressors it negotiates.

* :mod:`pyppp.ccp.options`: the option codecs (Deflate 26 and its draft 24, and the
  BSD-Compress and Predictor options pppd prints but pyppp does not implement);
* :mod:`pyppp.ccp.negotiator`: the generic CCP policy over pluggable methods
  (:class:`~pyppp.ccp.negotiator.MethodPolicy`);
* :mod:`pyppp.ccp.deflate`: Deflate (RFC 1979) as Linux's ``ppp_deflate.c``: its policy and
  its sans-IO compressor and decompressor;
* :mod:`pyppp.ccp.protocol`: the CCP automaton with Reset-Request/Reset-Ack (codes 14/15),
  holding the running compressor and decompressor.
"""
