"""A Milvus server's health check for a process supervisor (serve_all): one gRPC CheckHealth call with a short
deadline on a channel of its own. A TCP connect is no ping: the kernel accepts connections for a stopped
(SIGSTOP) or hung server; this call needs the server's own threads to answer."""

from __future__ import annotations


def milvus_ping(address: str, timeout: float = 2.0) -> str | None:
    """None when the Milvus server at host:port answered healthy within `timeout` seconds, else why not."""
    import grpc
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    try:
        reply = milvus_pb2_grpc.MilvusServiceStub(channel).CheckHealth(milvus_pb2.CheckHealthRequest(), timeout=timeout)
    except grpc.RpcError as exc:
        return f"CheckHealth on {address}: {exc.code().name} within {timeout:g} s"  # DEADLINE_EXCEEDED, UNAVAILABLE
    finally:
        channel.close()
    if not reply.isHealthy:
        return f"CheckHealth on {address}: unhealthy ({'; '.join(reply.reasons) or 'no reason given'})"
    return None
