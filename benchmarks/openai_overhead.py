"""Per-call client overhead of aexy-openai against a raw httpx call and the official SDK.

All three send the same chat-completions request (a catalogue schema as strict
``response_format``) to an in-process mock transport that answers with the same prebuilt
OpenAI ``chat.completion`` bytes, so the figures are pure client cost: building the request,
serialising, the transport round trip through the client stack, and parsing the answer.

    python benchmarks/openai_overhead.py [--calls 2000] [--rounds 7]

The ``openai`` SDK case runs only when the package is installed (it uses ``httpx2``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from aexy.completion import CompletionRequest
from aexy.plugins import PluginHost
from aexy.schema import strict_schema
from aexy_openai import OpenAIProvider, OpenAISettings

BASE = "https://api.openai.com/v1"
KEY = "sk-bench-0000000000000000"
ANSWER = json.dumps({"score": 7, "strengths": ["clear names"], "issues": [],
                     "suggestions": ["add tests"], "summary": "Readable, small, untested."})
BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1751990000,
    "model": "gpt-4.1-mini-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER,
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 420, "completion_tokens": 60, "total_tokens": 480,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0,
                                            "rejected_prediction_tokens": 0}},
    "service_tier": "default", "system_fingerprint": "fp_bench",
}).encode()
HEADERS = {"content-type": "application/json", "x-request-id": "req_bench"}


def answer(module: Any) -> Callable[[Any], Any]:
    def handler(request: Any) -> Any:
        return module.Response(200, content=BODY, headers=HEADERS)
    return handler


def request_parts() -> tuple[CompletionRequest, dict[str, Any]]:
    spec = PluginHost(entry_points=False).analysis_types().get("code_quality")
    assert spec is not None
    code = "def add(a, b):\n    return a + b\n" * 20
    req = CompletionRequest.simple(spec.system_prompt, spec.build_user_prompt(code, {}),
                                   spec.json_schema, schema_name=spec.name, max_tokens=1024)
    body = {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "system", "content": req.system},
                     {"role": "user", "content": req.messages[0].content}],
        "temperature": 0.0, "max_completion_tokens": 1024, "stream": False,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": spec.name, "schema": strict_schema(spec.json_schema), "strict": True}},
    }
    return req, body


async def measure(call: Callable[[], Awaitable[str]], calls: int, rounds: int) -> float:
    """Median microseconds per call over ``rounds`` rounds of ``calls`` calls."""
    for _ in range(200):  # warm-up: pools, caches, lazy imports
        assert await call() == ANSWER
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            await call()
        per_call.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(per_call)


async def main(calls: int, rounds: int) -> None:
    req, body = request_parts()
    results: dict[str, float] = {}

    raw = httpx.AsyncClient(transport=httpx.MockTransport(answer(httpx)),
                            headers={"Authorization": f"Bearer {KEY}"})

    async def raw_call() -> str:
        response = await raw.post(BASE + "/chat/completions", json=body)
        response.raise_for_status()
        content: str = response.json()["choices"][0]["message"]["content"]
        return content

    results["raw httpx (baseline)"] = await measure(raw_call, calls, rounds)
    await raw.aclose()

    provider = OpenAIProvider(OpenAISettings(api_key=KEY),
                              transport=httpx.MockTransport(answer(httpx)))

    async def aexy_call() -> str:
        return (await provider.complete(req)).text

    results["aexy-openai OpenAIProvider.complete()"] = await measure(aexy_call, calls, rounds)
    await provider.aclose()

    sdk_version = None
    try:
        import httpx2
        import openai
    except ImportError:
        pass
    else:
        sdk_version = openai.__version__
        sdk = openai.AsyncOpenAI(
            api_key=KEY, base_url=BASE, max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(answer(httpx2))),
        )

        async def sdk_call() -> str:
            completion = await sdk.chat.completions.create(
                model=body["model"], messages=body["messages"], temperature=0.0,
                max_completion_tokens=1024, response_format=body["response_format"],
            )
            return completion.choices[0].message.content or ""

        results[f"openai SDK {sdk_version} chat.completions.create()"] = await measure(
            sdk_call, calls, rounds)
        await sdk.close()

    base = results["raw httpx (baseline)"]
    print(f"Python {platform.python_version()}, httpx {httpx.__version__}, "
          f"{calls} calls x {rounds} rounds, median per call")
    print(f"{'case':<52} {'us/call':>9} {'x raw':>7}")
    for name, us in results.items():
        print(f"{name:<52} {us:>9.1f} {us / base:>7.2f}")
    ours = results["aexy-openai OpenAIProvider.complete()"]
    print(f"aexy-openai over raw httpx: +{ours - base:.1f} us per call")
    if sdk_version:
        theirs = results[f"openai SDK {sdk_version} chat.completions.create()"]
        print(f"openai SDK / aexy-openai: {theirs / ours:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
