#!/usr/bin/env python3
"""Build a tiny XTTS-v2 with random weights and record parity fixtures for the Rust port.

Run with the reference venv (coqui-tts 0.28, torch 2.11, transformers 5.22.2):

    /work/ref-venv/bin/python tools/parity/xtts/gen_fixtures.py [OUT_DIR]

OUT_DIR defaults to crates/vctts-model-xtts/tests/fixtures. It receives:

- tiny/ : a model folder in the official release layout (config.json, model.pth,
  vocab.json, speakers_xtts.pth), loadable by upstream's `Xtts.load_checkpoint`
  as long as the same constructor patches are active (see `patch_constructors`).
- ref.wav and ref_22k.safetensors: the reference clip.
- conditioning.safetensors, gpt_teacher.safetensors, decoder.safetensors,
  e2e.safetensors, stream.safetensors: recorded intermediate and final tensors.

The stock XTTS builds the HiFi-GAN decoder (512 channels) and the ResNet speaker
encoder ([3,4,6,3] blocks) with hard-coded sizes; with those a "tiny" checkpoint
is still ~90 MB. We shrink only their channel/block counts (the Rust port infers
them from the weight shapes); kernel sizes, strides, dilations and everything the
port cannot infer from the checkpoint stay as upstream has them.
"""

import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import TTS.tts.layers.xtts.hifigan_decoder as hifigan_decoder_mod
from TTS.encoder.models.resnet import ResNetSpeakerEncoder
from TTS.tts.configs.xtts_config import XttsConfig
from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
from TTS.tts.models.xtts import Xtts, wav_to_mel_cloning
from TTS.vocoder.models.hifigan_generator import HifiganGenerator

REPO = Path(__file__).resolve().parents[3]
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "crates/vctts-model-xtts/tests/fixtures"

LANGS = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]

# Tiny sizes (the real release: 30 layers, 1024 channels, 16 heads).
GPT_LAYERS = 2
GPT_DIM = 64
GPT_HEADS = 4
HIFI_CHANNELS = 64  # upstream: 512 (4 upsamplings halve it: 32, 16, 8, 4)
SPK_LAYERS = [1, 2, 1, 1]  # upstream: [3, 4, 6, 3]
SPK_FILTERS = [8, 16, 16, 16]  # upstream: [32, 64, 128, 256]

TEXTS = {
    "en": "Hello world, this is a small test.",
    "es": "Buenos días, ¿cómo estás?",
    "zh": "你好，世界。",
}

# Greedy settings used for the end-to-end fixtures.
REP_PENALTY = 5.0
STREAM_CHUNK = 8


def patch_constructors():
    """Shrink the hard-coded decoder and speaker encoder (active at build and load time)."""

    def small_hifigan(*args, **kwargs):
        args = list(args)
        # positional: in_channels, out_channels, resblock_type, dilations, kernels,
        # upsample_kernels, upsample_initial_channel, upsample_factors
        args[6] = HIFI_CHANNELS
        return HifiganGenerator(*args, **kwargs)

    def small_speaker_encoder(*args, **kwargs):
        kwargs["layers"] = SPK_LAYERS
        kwargs["num_filters"] = SPK_FILTERS
        return ResNetSpeakerEncoder(*args, **kwargs)

    hifigan_decoder_mod.HifiganGenerator = small_hifigan
    hifigan_decoder_mod.ResNetSpeakerEncoder = small_speaker_encoder


CORPUS = [
    "the quick brown fox jumps over the lazy dog.",
    "hello world, this is a small test of the speech model.",
    "she sells sea shells by the sea shore, and the shells she sells are surely seashells.",
    "a journey of a thousand miles begins with a single step.",
    "el rápido zorro marrón salta sobre el perro perezoso.",
    "buenos días, ¿cómo estás? muy bien, gracias.",
    "le renard brun rapide saute par-dessus le chien paresseux.",
    "der schnelle braune fuchs springt über den faulen hund.",
    "ni3 hao3, shi4 jie4. wo3 men5 qu4 chi1 fan4 ba5.",
    "one two three four five six seven eight nine ten.",
    "numbers like twenty one and one hundred are spelled out.",
]


def build_vocab(path: Path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]"] + [f"[{l}]" for l in LANGS]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.save(str(path))
    return specials


def make_config(model_dir: Path) -> XttsConfig:
    cfg = XttsConfig()
    a = cfg.model_args
    a.gpt_layers = GPT_LAYERS
    a.gpt_n_model_channels = GPT_DIM
    a.gpt_n_heads = GPT_HEADS
    # a smaller code book than the release's 1024 (+ start/stop) keeps the fixtures small
    a.gpt_num_audio_tokens = 258
    a.gpt_start_audio_token = 256
    a.gpt_stop_audio_token = 257
    a.gpt_use_perceiver_resampler = True
    a.decoder_input_dim = GPT_DIM
    a.gpt_max_audio_tokens = 605
    a.gpt_max_text_tokens = 402
    a.gpt_max_prompt_tokens = 70
    cfg.temperature = 0.75
    cfg.length_penalty = 1.0
    cfg.repetition_penalty = REP_PENALTY
    cfg.top_k = 50
    cfg.top_p = 0.85
    cfg.gpt_cond_len = 30
    cfg.gpt_cond_chunk_len = 4
    cfg.max_ref_len = 30
    cfg.languages = LANGS
    cfg.save_json(str(model_dir / "config.json"))
    return cfg


def fan_in_init(model: torch.nn.Module, gen: torch.Generator):
    """Re-initialise every parameter at fan-in scale (default init makes all texts sound alike)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "original0" in name:  # weight-norm magnitude: set after its direction
                continue
            shape = p.shape
            if name.endswith("latents"):
                p.copy_(torch.randn(shape, generator=gen))
            elif "pos_embedding" in name:
                p.copy_(torch.randn(shape, generator=gen) * 0.3)
            elif name.endswith("embedding.weight"):
                p.copy_(torch.randn(shape, generator=gen))
            elif p.dim() >= 2:
                if ".c_attn." in name or ".c_fc." in name or ".c_proj." in name:
                    fan_in = shape[0]  # HF Conv1D stores [in, out]
                elif ".ups." in name:
                    fan_in = shape[0] * int(np.prod(shape[2:]))  # ConvTranspose1d: [in, out, k]
                else:
                    fan_in = int(np.prod(shape[1:]))
                p.copy_(torch.randn(shape, generator=gen) / math.sqrt(max(fan_in, 1)))
            elif name.endswith("bias"):
                p.copy_((torch.rand(shape, generator=gen) - 0.5) * 0.2)
            else:  # norm gains (LayerNorm, GroupNorm, BatchNorm, RMSNorm)
                p.copy_(1.0 + (torch.rand(shape, generator=gen) - 0.5) * 0.4)
        # weight norm: g = |v| * U(0.8, 1.2) per output channel
        for mod in model.modules():
            par = getattr(mod, "parametrizations", None)
            if par is None or "weight" not in par:
                continue
            g = par.weight.original0
            v = par.weight.original1
            norms = v.reshape(v.shape[0], -1).norm(dim=1).reshape(g.shape)
            g.copy_(norms * (0.8 + 0.4 * torch.rand(g.shape, generator=gen)))
        # BatchNorm running statistics (buffers, not parameters)
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.copy_((torch.rand(mod.running_mean.shape, generator=gen) - 0.5) * 0.2)
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=gen))
        # mel normalisation statistics (real ones are positive, O(1..10))
        model.mel_stats.copy_(2.0 + 4.0 * torch.rand(80, generator=gen))


def synth_voice(sr: int, seconds: float, f0: float, seed: int) -> torch.Tensor:
    """A voice-like test signal: harmonics with vibrato, syllable envelope and a little noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(sr * seconds), dtype=torch.float64) / sr
    f = f0 * (1 + 0.03 * torch.sin(2 * math.pi * 5.0 * t))
    phase = 2 * math.pi * torch.cumsum(f, 0) / sr
    x = sum((0.6 / k) * torch.sin(k * phase + k) for k in range(1, 12))
    env = 0.55 + 0.45 * torch.sin(2 * math.pi * 3.3 * t) ** 2
    x = x * env + 0.01 * torch.randn(t.shape, generator=g, dtype=torch.float64)
    x = 0.5 * x / x.abs().max()
    return x.float().unsqueeze(0)


def write_wav_f32(path: Path, audio: torch.Tensor, sr: int):
    import wave  # noqa: F401  (float WAV needs a hand-written header)

    data = audio.squeeze().numpy().astype("<f4").tobytes()
    n_ch, bits = 1, 32
    header = b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVE"
    header += b"fmt " + (16).to_bytes(4, "little") + (3).to_bytes(2, "little") + n_ch.to_bytes(2, "little")
    header += sr.to_bytes(4, "little") + (sr * n_ch * bits // 8).to_bytes(4, "little")
    header += (n_ch * bits // 8).to_bytes(2, "little") + bits.to_bytes(2, "little")
    header += b"data" + len(data).to_bytes(4, "little")
    path.write_bytes(header + data)


def write_other_checkpoint(path: Path):
    """A torch checkpoint of another model in the same `{"model": state_dict}` layout (bad-input test)."""
    torch.manual_seed(0)
    other = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    torch.save({"model": other.state_dict(), "iteration": 1}, path)


def contiguous(d):
    return {k: v.detach().contiguous() for k, v in d.items()}


def load_model(model_dir: Path) -> Xtts:
    cfg = XttsConfig()
    cfg.load_json(str(model_dir / "config.json"))
    m = Xtts.init_from_config(cfg)
    m.load_checkpoint(cfg, checkpoint_dir=str(model_dir), eval=True)
    return m


def greedy_codes(model: Xtts, cond, tokens, rep_penalty):
    with torch.no_grad():
        codes = model.gpt.generate(
            cond_latents=cond,
            text_inputs=tokens,
            do_sample=False,
            top_p=0.85,
            top_k=50,
            temperature=0.75,
            num_return_sequences=1,
            num_beams=1,
            length_penalty=1.0,
            repetition_penalty=rep_penalty,
            output_attentions=False,
        )
    return codes


def gpt_latents(model: Xtts, cond, tokens, codes):
    with torch.no_grad():
        return model.gpt(
            tokens,
            torch.tensor([tokens.shape[-1]]),
            codes,
            torch.tensor([codes.shape[-1] * model.gpt.code_stride_len]),
            cond_latents=cond,
            return_attentions=False,
            return_latent=True,
        )


def tune_stop_bias(model: Xtts, cfg: XttsConfig, ref: torch.Tensor, texts: dict):
    """Raise the stop code's bias until greedy generation ends after 20..110 codes for every text."""
    model.gpt.init_gpt_for_inference(kv_cache=True)
    model.eval()
    stop = cfg.model_args.gpt_stop_audio_token
    with torch.no_grad():
        cond = model.get_gpt_cond_latents(ref, 22050, length=cfg.gpt_cond_len, chunk_length=cfg.gpt_cond_chunk_len)
    ids = [torch.IntTensor(model.tokenizer.encode(t.strip().lower(), lang=l)).unsqueeze(0) for l, t in texts.items()]
    base = model.gpt.mel_head.bias[stop].item()
    for bias in np.arange(1.5, 4.0, 0.05):
        with torch.no_grad():
            model.gpt.mel_head.bias[stop] = torch.tensor(base + bias).half().float()
        lens = [greedy_codes(model, cond, i, REP_PENALTY).shape[1] for i in ids]
        print(f"  bias +{bias:.2f}: {lens}", flush=True)
        if all(20 <= n <= 110 for n in lens):
            return
    raise SystemExit("no stop bias gives 20..110 codes")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    patch_constructors()
    model_dir = OUT / "tiny"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)

    ref = synth_voice(22050, 4.5, 140.0, seed=7)
    build_vocab(model_dir / "vocab.json")
    cfg = make_config(model_dir)

    # ---- build with random weights and save the release layout ----
    model = Xtts.init_from_config(cfg)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(model_dir / "vocab.json"))
    model.init_models()
    gen = torch.Generator().manual_seed(1234)
    fan_in_init(model, gen)
    with torch.no_grad():  # the fp16 checkpoint holds these values exactly
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    tune_stop_bias(model, cfg, ref, TEXTS)
    # fp16 on disk keeps the fixture small; upstream and the port both widen it to fp32
    sd = {
        k: (v.half() if v.is_floating_point() else v)
        for k, v in model.state_dict().items()
        if not k.startswith("gpt.gpt_inference") and k != "gpt.gpt.wte.weight"
    }
    torch.save({"model": sd}, model_dir / "model.pth")
    print(f"model.pth: {len(sd)} tensors, {sum(v.numel() for v in sd.values())} values")

    # ---- reload exactly as upstream does ----
    model = load_model(model_dir)

    # ---- conditioning ----
    sr = 22050
    write_wav_f32(OUT / "ref.wav", ref, sr)
    with torch.no_grad():
        spk = model.get_speaker_embedding(ref, sr)
        cond = model.get_gpt_cond_latents(ref, sr, length=cfg.gpt_cond_len, chunk_length=cfg.gpt_cond_chunk_len)
        mel0 = wav_to_mel_cloning(
            ref[:, : sr * cfg.gpt_cond_chunk_len],
            mel_norms=model.mel_stats.cpu(),
            n_fft=2048,
            hop_length=256,
            win_length=1024,
            power=2,
            normalized=False,
            sample_rate=22050,
            f_min=0,
            f_max=8000,
            n_mels=80,
        )
        style0 = model.gpt.get_style_emb(mel0, None)
        import torchaudio

        ref16 = torchaudio.functional.resample(ref, sr, 16000)
        spk_mel = model.hifigan_decoder.speaker_encoder.torch_spec(ref16.clone())
    save_file(
        contiguous(
            {
                "ref_16k": ref16,
                "spk_mel": spk_mel,
                "mel_chunk0": mel0,
                "style_chunk0": style0,
                "gpt_cond_latent": cond,
                "speaker_embedding": spk,
            }
        ),
        OUT / "conditioning.safetensors",
    )

    # second voice for the preset speakers file
    ref_b = synth_voice(sr, 3.0, 210.0, seed=11)
    with torch.no_grad():
        spk_b = model.get_speaker_embedding(ref_b, sr)
        cond_b = model.get_gpt_cond_latents(ref_b, sr, length=30, chunk_length=4)
    speakers = {
        "Tiny Low": {"gpt_cond_latent": cond.clone(), "speaker_embedding": spk.clone()},
        "Tiny High": {"gpt_cond_latent": cond_b.clone(), "speaker_embedding": spk_b.clone()},
    }
    torch.save(speakers, model_dir / "speakers_xtts.pth")

    # ---- GPT under teacher forcing ----
    texts = TEXTS
    tok = model.tokenizer
    teacher = {}
    gen_codes = torch.Generator().manual_seed(99)
    for lang, text in texts.items():
        ids = torch.IntTensor(tok.encode(text.strip().lower(), lang=lang)).unsqueeze(0)
        codes = torch.randint(0, cfg.model_args.gpt_start_audio_token, (1, 12), generator=gen_codes)
        with torch.no_grad():
            fake = model.gpt.compute_embeddings(cond, ids)
            inp = torch.cat([fake, codes], dim=1)
            out = model.gpt.gpt_inference(input_ids=inp, return_dict=True, use_cache=False)
            logits = out.logits[:, -(codes.shape[1] + 1) :, :]
        teacher[f"{lang}.text_ids"] = ids.long()
        teacher[f"{lang}.codes"] = codes.long()
        teacher[f"{lang}.logits"] = logits
        teacher[f"{lang}.latents"] = gpt_latents(model, cond, ids, codes)
    save_file(contiguous(teacher), OUT / "gpt_teacher.safetensors")

    # ---- decoder from given latents ----
    g_lat = torch.Generator().manual_seed(5)
    lat = torch.randn(1, 7, GPT_DIM, generator=g_lat)
    with torch.no_grad():
        wav = model.hifigan_decoder(lat, g=spk)
        lat_speed = F.interpolate(lat.transpose(1, 2), scale_factor=1.0 / 1.3, mode="linear").transpose(1, 2)
        wav_speed = model.hifigan_decoder(lat_speed, g=spk)
    save_file(
        contiguous({"latents": lat, "speaker_embedding": spk, "wav": wav, "latents_speed_1_3": lat_speed, "wav_speed_1_3": wav_speed}),
        OUT / "decoder.safetensors",
    )

    # ---- greedy end-to-end ----
    e2e = {}
    meta = {"texts": texts, "repetition_penalty": REP_PENALTY, "stream_chunk_size": STREAM_CHUNK}
    for lang, text in texts.items():
        ids = torch.IntTensor(tok.encode(text.strip().lower(), lang=lang)).unsqueeze(0)
        codes = greedy_codes(model, cond, ids, REP_PENALTY)
        out = model.inference(
            text,
            lang,
            cond,
            spk,
            temperature=0.75,
            length_penalty=1.0,
            repetition_penalty=REP_PENALTY,
            top_k=50,
            top_p=0.85,
            do_sample=False,
            speed=1.0,
            enable_text_splitting=False,
        )
        e2e[f"{lang}.text_ids"] = ids.long()
        e2e[f"{lang}.codes"] = codes.long()
        e2e[f"{lang}.latents"] = torch.from_numpy(out["gpt_latents"])
        e2e[f"{lang}.wav"] = torch.from_numpy(out["wav"]).float()
        print(f"e2e {lang}: {ids.shape[1]} text tokens -> {codes.shape[1]} codes, {out['wav'].shape[0]} samples")
    save_file(contiguous(e2e), OUT / "e2e.safetensors")

    # ---- streaming (upstream samples with multinomial even without do_sample: make it argmax) ----
    orig_multinomial = torch.multinomial
    torch.multinomial = lambda probs, num_samples=1, **kw: probs.argmax(dim=-1, keepdim=True)
    stream = {}
    try:
        for lang in ["en"]:
            chunks = list(
                model.inference_stream(
                    texts[lang],
                    lang,
                    cond,
                    spk,
                    stream_chunk_size=STREAM_CHUNK,
                    overlap_wav_len=1024,
                    repetition_penalty=REP_PENALTY,
                    do_sample=False,
                )
            )
            for i, c in enumerate(chunks):
                stream[f"{lang}.chunk{i}"] = c.float()
            print(f"stream {lang}: {len(chunks)} chunks, {[c.shape[0] for c in chunks]}")
    finally:
        torch.multinomial = orig_multinomial
    save_file(contiguous(stream), OUT / "stream.safetensors")
    write_other_checkpoint(OUT / "other_model.pth")
    (OUT / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))

    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
