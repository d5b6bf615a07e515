"""Signs requests with the official Huawei Cloud SDK signer (huaweicloudsdkcore).

Reads one JSON object per line on stdin:
  {"method", "host", "path", "query": [[name, value], ...], "headers": {name: value}, "body", "ak", "sk"}
and prints the SDK's Authorization header value for each, one per line.
"""
import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer


def sign(case):
    request = SdkRequest(
        method=case["method"],
        schema="http",
        host=case["host"],
        resource_path=case["path"],
        query_params=[tuple(pair) for pair in case["query"]],
        header_params=dict(case["headers"]),
        body=case["body"].encode("utf-8") if case["body"] else "",
    )
    Signer(BasicCredentials(case["ak"], case["sk"])).sign(request)
    return request.header_params["Authorization"]


for line in sys.stdin:
    if line.strip():
        print(sign(json.loads(line)), flush=True)
