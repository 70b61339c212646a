#!/usr/bin/env python3
"""Build small OpenVoice V2 tone colour converters with random weights and record
what the reference implementation computes at every stage.

Run with the reference venv (see ../../../../shared/notes/parity-references.md):

    /work/ref-venv/bin/python tools/parity/openvoice/gen_fixtures.py \
        crates/vctts-model-openvoice/tests/fixtures

Writes, under the output folder:

  tiny/converter/{config.json,checkpoint.pth}   model A: the V2 layout (resblock "1",
                                                 zero_g, weight_g/weight_v, float32)
  tiny/fixtures.safetensors                     every stage of model A
  tiny_b/converter/{config.json,checkpoint.pth} model B: resblock "2", zero_g false,
                                                 win_length < filter_length,
                                                 parametrizations.weight.original0/1
                                                 weight norm, stored as float16
  tiny_b/fixtures.safetensors
  bad/wrong_model.pth                           a zip checkpoint of another model
  bad/legacy.pth                                a legacy (non-zip) torch file

The model code is openvoice-cli 0.0.5 (OpenVoice's own models.py / modules.py /
mel_processing.py). The converter is built the way upstream builds it
(`OpenVoiceBaseClass.__init__`), without the watermark model (it would need a hub
download), and driven through upstream's own `extract_se` and `convert`.
"""

import json
import math
import os
import sys
import tempfile

import numpy as np
import soundfile
import torch
from safetensors.torch import save_file

import openvoice_cli.models as ov_models
import openvoice_cli.modules as ov_modules
from openvoice_cli.api import OpenVoiceBaseClass, ToneColorConverter
from openvoice_cli.mel_processing import spectrogram_torch

SR = 22050


def config_a():
    return {
        "_version_": "v2",
        "data": {
            "sampling_rate": SR,
            "filter_length": 128,
            "hop_length": 64,
            "win_length": 128,
            "n_speakers": 0,
        },
        "model": {
            "zero_g": True,
            "inter_channels": 16,
            "hidden_channels": 8,
            "filter_channels": 32,
            "n_heads": 2,
            "n_layers": 2,
            "kernel_size": 3,
            "p_dropout": 0.1,
            "resblock": "1",
            "resblock_kernel_sizes": [3, 7, 11],
            "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
            "upsample_rates": [4, 4, 2, 2],
            "upsample_initial_channel": 32,
            "upsample_kernel_sizes": [8, 8, 4, 4],
            "gin_channels": 16,
        },
    }


def config_b():
    c = config_a()
    c["data"]["win_length"] = 96
    c["model"].update(
        {
            "zero_g": False,
            "resblock": "2",
            "resblock_kernel_sizes": [3, 5],
            "resblock_dilation_sizes": [[1, 3], [1, 2]],
            "gin_channels": 12,
        }
    )
    return c


def speechlike(seconds, seed, f0_lo, f0_hi):
    """A voiced, formant-shaped, syllable-modulated signal with a little breath noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = f0_lo + (f0_hi - f0_lo) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formants = [(rng.uniform(400, 800), 120.0), (rng.uniform(1000, 2000), 180.0), (rng.uniform(2300, 3200), 250.0)]
    y = np.zeros(n)
    for k in range(1, 40):
        fk = k * f0
        amp = sum(np.exp(-0.5 * ((fk - fc) / bw) ** 2) for fc, bw in formants) + 0.05 / k
        y += amp * np.sin(k * phase)
    env = 0.25 + 0.75 * np.clip(np.sin(2 * np.pi * 3.7 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    y = y * env + 0.01 * rng.standard_normal(n)
    y = 0.6 * y / np.max(np.abs(y))
    return y.astype(np.float32)


def fan_in(name, w):
    if w.dim() == 1:
        return w.shape[0]
    if "ups." in name:  # ConvTranspose1d: [in, out, k]; each output sums in * k / stride terms
        return max(1, w.shape[0] * w.shape[2] // 2)
    return int(np.prod(w.shape[1:]))


def reinit(model, seed):
    """Replace the default initialisation (which zeroes the flow's `post` layers and
    the posterior's spread, making the flow an identity) with fan-in scaled random
    weights, so that every stage computes something non-trivial."""
    g = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            if name.endswith("weight_g") or name.endswith("original0"):
                continue  # set from the direction below
            if name.endswith("bias") or name.endswith("beta"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name.endswith("gamma") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif "gru." in name:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1] if p.dim() > 1 else 128))
            else:
                gain = 1.0
                if name.startswith("dec.conv_post"):
                    gain = 2.0
                if ".post." in name or name.startswith("enc_q.proj"):
                    gain = 0.5
                p.copy_(gain * torch.randn(p.shape, generator=g) / math.sqrt(fan_in(name, p)))
        for name, p in params.items():
            if name.endswith("weight_g") or name.endswith("original0"):
                v = params[name[: -len("weight_g")] + "weight_v"] if name.endswith("weight_g") else params[
                    name[: -len("original0")] + "original1"]
                dims = list(range(1, v.dim()))
                norm = v.pow(2).sum(dim=dims, keepdim=True).sqrt()
                gain = 0.4 if name.startswith("dec.") and "resblocks" in name else 1.0
                p.copy_(norm * gain * (0.8 + 0.4 * torch.rand(p.shape, generator=g)))
        # Keep the posterior's spread moderate so tau > 0 stays well behaved.
        proj = model.enc_q.proj
        half = proj.bias.shape[0] // 2
        proj.bias[half:] -= 1.0


def build(cfg, folder, seed, parametrized, half):
    """Build the converter exactly as upstream does, randomise it, save it in the
    release layout, and load it back through upstream's own `load_ckpt`."""
    conv_dir = os.path.join(folder, "converter")
    os.makedirs(conv_dir, exist_ok=True)
    cfg_path = os.path.join(conv_dir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)

    saved = (ov_models.weight_norm, ov_modules.weight_norm, torch.nn.utils.weight_norm)
    if parametrized:
        wn = torch.nn.utils.parametrizations.weight_norm
        ov_models.weight_norm = ov_modules.weight_norm = torch.nn.utils.weight_norm = wn
    try:
        torch.manual_seed(seed)
        conv = ToneColorConverter.__new__(ToneColorConverter)
        OpenVoiceBaseClass.__init__(conv, cfg_path, device="cpu")
        conv.watermark_model = None
        conv.version = cfg["_version_"]
        reinit(conv.model, seed)
        sd = conv.model.state_dict()
        if half:
            sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
        ckpt = os.path.join(conv_dir, "checkpoint.pth")
        torch.save({"model": sd, "iteration": 12345, "learning_rate": 2e-4}, ckpt)
        conv.load_ckpt(ckpt)  # float16 values come back as float32, exactly
        conv.model.eval()
    finally:
        ov_models.weight_norm, ov_modules.weight_norm, torch.nn.utils.weight_norm = saved
    return conv


def stats(name, t):
    t = t.detach().float()
    print(f"  {name:10s} shape={tuple(t.shape)} mean={t.mean():+.4f} std={t.std():.4f} "
          f"min={t.min():+.4f} max={t.max():+.4f}")


def record(conv, folder, seed):
    hps = conv.hps
    model = conv.model
    d = hps.data
    src = speechlike(0.4, seed, 90, 150)
    ref = speechlike(0.5, seed + 1, 180, 260)
    out = {"audio_src": torch.from_numpy(src), "audio_ref": torch.from_numpy(ref)}

    with tempfile.TemporaryDirectory() as tmp:
        src_wav = os.path.join(tmp, "src.wav")
        ref_wav = os.path.join(tmp, "ref.wav")
        soundfile.write(src_wav, src, SR, subtype="FLOAT")
        soundfile.write(ref_wav, ref, SR, subtype="FLOAT")
        # Upstream's own entry points (librosa at the model's rate: no resampling here).
        se_src_api = conv.extract_se([src_wav])
        se_ref_api = conv.extract_se([ref_wav])
        e2e = conv.convert(src_wav, se_src_api, se_ref_api, output_path=None, tau=0.0)
        # tau > 0 with recorded noise: upstream draws it with torch.randn_like.
        spec_src = spectrogram_torch(torch.from_numpy(src)[None], d.filter_length, d.sampling_rate, d.hop_length,
                                     d.win_length, center=False)
        noise = torch.randn((1, model.enc_q.out_channels, spec_src.shape[-1]),
                            generator=torch.Generator().manual_seed(seed + 7))
        real_randn_like = torch.randn_like
        torch.randn_like = lambda m, *a, **k: noise.clone()
        try:
            e2e_tau = conv.convert(src_wav, se_src_api, se_ref_api, output_path=None, tau=0.3)
        finally:
            torch.randn_like = real_randn_like

    with torch.no_grad():
        spec_ref = spectrogram_torch(torch.from_numpy(ref)[None], d.filter_length, d.sampling_rate, d.hop_length,
                                     d.win_length, center=False)
        se_src = model.ref_enc(spec_src.transpose(1, 2))  # [1, gin]
        se_ref = model.ref_enc(spec_ref.transpose(1, 2))
        g_src = se_src.unsqueeze(-1)
        g_tgt = se_ref.unsqueeze(-1)
        lengths = torch.LongTensor([spec_src.shape[-1]])
        g_post = torch.zeros_like(g_src) if model.zero_g else g_src
        z, m_q, logs_q, mask = model.enc_q(spec_src, lengths, g=g_post, tau=0.0)
        z_p = model.flow(z, mask, g=g_src)
        z_hat = model.flow(z_p, mask, g=g_tgt, reverse=True)
        g_dec = torch.zeros_like(g_tgt) if model.zero_g else g_tgt
        dec = model.dec(z_hat * mask, g=g_dec)

    # The stage-by-stage run must be the very path upstream's API takes: the decoder's
    # output is recorded once, as `e2e_tau0`, and `z` equals `m_q` at tau = 0.
    assert torch.equal(z, m_q)
    assert torch.allclose(se_src_api[0, :, 0], se_src[0], atol=1e-6)
    assert np.allclose(e2e, dec[0, 0].numpy(), atol=1e-6)
    assert not np.allclose(e2e, e2e_tau, atol=1e-3), "tau had no effect"

    out.update({
        "spec_src": spec_src[0],
        "spec_ref": spec_ref[0],
        "se_src": se_src[0],
        "se_ref": se_ref[0],
        "m_q": m_q[0],
        "logs_q": logs_q[0],
        "z_p": z_p[0],
        "z_hat": z_hat[0],
        "e2e_tau0": torch.from_numpy(np.ascontiguousarray(e2e)),
        "noise": noise[0],
        "e2e_tau03": torch.from_numpy(np.ascontiguousarray(e2e_tau)),
    })
    for k, v in out.items():
        stats(k, v)
    out = {k: v.detach().float().contiguous() for k, v in out.items()}
    save_file(out, os.path.join(folder, "fixtures.safetensors"), metadata={"tau": "0.3", "seed": str(seed)})


def bad_files(folder):
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    other = {
        "gpt.layers.0.attn.c_attn.weight": torch.randn(8, 24, generator=g),
        "gpt.layers.0.attn.c_attn.bias": torch.randn(24, generator=g),
        "hifigan_decoder.conv_pre.weight": torch.randn(4, 8, 7, generator=g),
    }
    torch.save({"model": other}, os.path.join(folder, "wrong_model.pth"))
    torch.save({"model": other}, os.path.join(folder, "legacy.pth"), _use_new_zipfile_serialization=False)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/vctts-model-openvoice/tests/fixtures"
    torch.set_num_threads(1)
    print("model A (V2 layout)")
    a = build(config_a(), os.path.join(out, "tiny"), seed=1234, parametrized=False, half=False)
    record(a, os.path.join(out, "tiny"), seed=1234)
    print("model B (resblock 2, zero_g false, parametrized weight norm, float16)")
    b = build(config_b(), os.path.join(out, "tiny_b"), seed=4321, parametrized=True, half=True)
    record(b, os.path.join(out, "tiny_b"), seed=4321)
    bad_files(os.path.join(out, "bad"))
    total = 0
    for root, _, files in os.walk(out):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"fixtures: {total / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
