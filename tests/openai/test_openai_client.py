"""The official `openai` Python client against a running vctts gateway.

Starts a gateway and a worker (the feature-gated `tone` test engine) from the
binary in $VCTTS_BIN, then drives /v1/audio/speech through the client exactly as
Open WebUI, SillyTavern or a user's script would. Every output is decoded with
ffprobe/ffmpeg and its duration compared with what the engine produced.
Run by scripts/test.sh; exits non-zero on the first failure.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import openai

BIN = os.environ.get("VCTTS_BIN", "target/debug/vctts")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, node=False, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + ("/api/nodes" if node else "/health"), timeout=2) as r:
                body = json.load(r)
                if not node or any(n["status"] == "ready" for n in body["nodes"]):
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready")


class Cluster:
    def __init__(self, tmp, extra=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = open(os.path.join(tmp, f"gw-{self.port}.log"), "w")
        self.procs = [subprocess.Popen(
            [BIN, "gateway", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", os.path.join(tmp, f"d{self.port}"),
             "--default-engine", "tone", "--heartbeat-interval", "1", "--dead-threshold", "3", "--ip-rpm", "0", "--global-rpm", "0",
             "--concurrent-limit", "0", *extra], stdout=log, stderr=log)]
        wait_ready(self.url)
        wport = free_port()
        wlog = open(os.path.join(tmp, f"w-{wport}.log"), "w")
        self.procs.append(subprocess.Popen(
            [BIN, "worker", "--engine", "tone", "--host", "127.0.0.1", "--port", str(wport), "--gateway", self.url,
             "--auto-load", "--max-concurrency", "4"], stdout=wlog, stderr=wlog))
        wait_ready(self.url, node=True)

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()


def sentence_seconds(text):
    """Duration the tone engine gives `text` (one sentence, speed 1)."""
    n = max(len(text.strip()), 2)
    return max(0.05 * n, 0.1)


def probe(path, fmt):
    """(codec, sample_rate, duration) as ffprobe/ffmpeg decode the file."""
    if fmt == "pcm":
        size = os.path.getsize(path)
        return "pcm_s16le", 24000, size / 2 / 24000
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate", "-of", "json", path],
        capture_output=True, text=True, check=True)
    stream = json.loads(out.stdout)["streams"][0]
    # Decode fully: the duration of what a real decoder produces.
    dec = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-"], capture_output=True, check=True)
    assert not dec.stderr, dec.stderr
    rate = int(stream["sample_rate"])
    return stream["codec_name"], rate, len(dec.stdout) / 2 / rate


EXPECTED_CODEC = {"wav": "pcm_s16le", "pcm": "pcm_s16le", "flac": "flac", "mp3": "mp3", "opus": "opus", "aac": "aac"}
# Encoders add priming / padding (a streamed MP3 has no LAME tag to trim its encoder delay): allowed difference in seconds.
SLACK = {"wav": 0.002, "pcm": 0.002, "flac": 0.002, "mp3": 0.12, "opus": 0.03, "aac": 0.2}


def main():
    failures = 0
    tmp = tempfile.mkdtemp(prefix="vctts-openai-")
    c = Cluster(tmp)
    try:
        client = openai.OpenAI(base_url=c.url + "/v1", api_key="unused", max_retries=0)
        text = "The quick brown fox jumps over the lazy dog."
        want = sentence_seconds(text)

        # 1. Every format, whole response.
        for fmt in ["wav", "pcm", "flac", "mp3", "opus", "aac"]:
            path = os.path.join(tmp, f"out.{fmt}")
            resp = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format=fmt)
            resp.write_to_file(path)
            codec, rate, dur = probe(path, fmt)
            assert codec == EXPECTED_CODEC[fmt], (fmt, codec)
            assert abs(dur - want) <= SLACK[fmt], (fmt, dur, want)
            if fmt == "pcm":
                assert os.path.getsize(path) % 2 == 0
            print(f"ok  create  {fmt:5} {codec:10} {rate:6} Hz {dur:.3f} s (engine {want:.3f} s)")

        # 2. Streaming with with_streaming_response, two sentences.
        text2 = "First sentence of the stream. Second sentence, a little longer than the first."
        want2 = sum(sentence_seconds(s) for s in ["First sentence of the stream.", "Second sentence, a little longer than the first."])
        for fmt in ["mp3", "opus", "pcm", "wav"]:
            path = os.path.join(tmp, f"stream.{fmt}")
            chunks = 0
            with client.audio.speech.with_streaming_response.create(
                    model="tts-1", voice="nova", input=text2, response_format=fmt) as resp:
                assert resp.headers.get("transfer-encoding") == "chunked", dict(resp.headers)
                with open(path, "wb") as f:
                    for chunk in resp.iter_bytes():
                        f.write(chunk)
                        chunks += 1
            codec, rate, dur = probe(path, fmt)
            assert abs(dur - want2) <= SLACK[fmt] + 0.002, (fmt, dur, want2)
            print(f"ok  stream  {fmt:5} {codec:10} {rate:6} Hz {dur:.3f} s in {chunks} chunks (engine {want2:.3f} s)")

        # 3. speed, a preset voice by id, extensions.
        resp = client.audio.speech.create(model="tone", voice="tone-high", input=text, response_format="wav", speed=2.0)
        path = os.path.join(tmp, "fast.wav")
        resp.write_to_file(path)
        _, _, dur = probe(path, "wav")
        assert abs(dur - max(0.05 * len(text) / 2.0, 0.1)) < 0.002, dur
        print("ok  speed 2.0 and a preset voice")

        # 4. Errors in OpenAI's shape, raised as the client's exception classes.
        cases = [
            (dict(model="no-such-model", voice="alloy", input="hi"), openai.NotFoundError, "model_not_found"),
            (dict(model="tts-1", voice="no-such-voice", input="hi"), openai.NotFoundError, "voice_not_found"),
            (dict(model="tts-1", voice="alloy", input=""), openai.UnprocessableEntityError, "empty_text"),
            (dict(model="tts-1", voice="alloy", input="x" * 5001), openai.APIStatusError, "text_too_long"),
            (dict(model="tts-1", voice="alloy", input="hi", response_format="ogg-vorbis"), openai.UnprocessableEntityError, "unsupported_format"),
        ]
        for kwargs, exc, code in cases:
            try:
                client.audio.speech.create(**kwargs)
            except exc as e:
                err = e.body if isinstance(e.body, dict) else {}
                assert err.get("code") == code, (kwargs, e.body)
                assert err.get("type") and err.get("message"), e.body
                print(f"ok  error {e.status_code} {code}")
            else:
                raise AssertionError(f"no error for {kwargs}")

        # 5. Models and voices lists.
        models = [m.id for m in client.models.list()]
        assert "tts-1" in models and "tone" in models, models
        with urllib.request.urlopen(c.url + "/v1/audio/voices") as r:
            voices = json.load(r)["voices"]
        assert any(v["id"] == "alloy" for v in voices) and any(v["id"] == "tone-low" for v in voices)
        print("ok  models and voices")
    finally:
        c.close()

    # 6. API keys with a per-key limit.
    keys = os.path.join(tmp, "keys.toml")
    with open(keys, "w") as f:
        f.write('[[keys]]\nkey = "sk-test-0123456789"\nname = "webui"\nrpm = 2\n')
    c = Cluster(tmp, extra=["--api-keys", keys, "--openai-voice", "alloy=tone-low"])
    try:
        bad = openai.OpenAI(base_url=c.url + "/v1", api_key="sk-wrong-key-000", max_retries=0)
        try:
            bad.audio.speech.create(model="tts-1", voice="alloy", input="hi")
            raise AssertionError("a wrong key was accepted")
        except openai.AuthenticationError as e:
            assert e.body["code"] == "invalid_api_key", e.body
        good = openai.OpenAI(base_url=c.url + "/v1", api_key="sk-test-0123456789", max_retries=0)
        for _ in range(2):
            good.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format="wav").read()
        try:
            good.audio.speech.create(model="tts-1", voice="alloy", input="hi")
            raise AssertionError("the per-key limit did not apply")
        except openai.RateLimitError as e:
            assert e.response.headers.get("retry-after"), dict(e.response.headers)
        print("ok  api keys: wrong key 401, per-key rpm 429")
    finally:
        c.close()
    print("all OpenAI client checks passed")
    return failures


if __name__ == "__main__":
    sys.exit(main())
