"""Tiny random models saved with save_pretrained, for the model-engine tests (no hub)."""

from __future__ import annotations

import json
import string
from pathlib import Path

SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def clip_tokenizer(out: Path):
    """A CLIP BPE tokenizer from a character vocab (no merges): every word splits into letters."""
    from transformers import CLIPTokenizer

    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    vocab = {tok: i for i, tok in enumerate([*chars, *(c + "</w>" for c in chars), *SPECIALS])}
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer.from_pretrained(out, model_max_length=77, pad_token="<|endoftext|>")
    return tok


def clip_text_encoder(vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1, hidden_size=32,
        intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=vocab_size,
        max_position_embeddings=77, projection_dim=32))


def tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                         norm_num_groups=32)


def tiny_unet(in_channels: int):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=32, attention_head_dim=4)


def sd_pipeline(out: Path, kind: str) -> Path:
    """kind "inpaint" (UNet in_channels 9) or "ip2p" (in_channels 8), saved to `out`."""
    import torch
    from diffusers import (
        DDIMScheduler,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionInstructPix2PixPipeline,
    )

    torch.manual_seed(0)
    tok = clip_tokenizer(out / "_tok")
    parts = dict(vae=tiny_vae(), text_encoder=clip_text_encoder(len(tok)), tokenizer=tok,
                 safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if kind == "inpaint":
        pipe = StableDiffusionInpaintPipeline(unet=tiny_unet(9), scheduler=DDIMScheduler(steps_offset=1), **parts)
    else:
        pipe = StableDiffusionInstructPix2PixPipeline(unet=tiny_unet(8), scheduler=EulerAncestralDiscreteScheduler(),
                                                      **parts)
    pipe.save_pretrained(out)
    return out


def clipseg(out: Path) -> Path:
    import torch
    from transformers import (
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        ViTImageProcessorPil,
    )

    torch.manual_seed(0)
    tok = clip_tokenizer(out / "_tok")
    config = CLIPSegConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, max_position_embeddings=77,
                         bos_token_id=len(tok) - 2, eos_token_id=len(tok) - 1, pad_token_id=len(tok) - 1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                           image_size=32, patch_size=8),
        projection_dim=32, reduce_dim=16, extract_layers=[1], decoder_num_attention_heads=4,
        decoder_intermediate_size=37)
    CLIPSegForImageSegmentation(config).eval().save_pretrained(out)
    image_processor = ViTImageProcessorPil(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    CLIPSegProcessor(image_processor=image_processor, tokenizer=tok).save_pretrained(out)
    return out


QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN_TEXT = [
    "Describe this image in one sentence.",
    "A man in a white space suit holds a helmet in front of a flag.",
    "Where in this image should this be added? Answer with one bounding box in pixel coordinates as JSON.",
    '{"bbox_2d": [12, 30, 48, 60]} a red cup on a wooden table, a cat on a sofa, a dog in the park',
]


def qwen_vl(out: Path, texts: list[str] | None = None, vocab_size: int = 400, max_positions: int = 4096) -> Path:
    """A random 2-layer Qwen2.5-VL with a tiny byte-level BPE tokenizer (shared/RECIPES.md),
    trained on `texts` (the Builder's tests use the tool prompt, so prompts stay short)."""
    import tokenizers
    import torch
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=QWEN_SPECIAL,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts or QWEN_TEXT, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = QWEN_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        # 64-wide vision layers: bitsandbytes' CPU 4-bit kernel needs in_features >= its block size
        vision_config=dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=4, out_hidden_size=64,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                           fullatt_block_indexes=[0], window_size=112),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112).save_pretrained(out)
    return out


# -- tiny FLUX.1-Fill / FLUX.1-Kontext, shaped like the real checkpoints where it matters ------
# (shared/RECIPES.md): VAE scale factor 8 and 16 latent channels (packed latents: 64 channels);
# transformer in_channels 384 / out 64 for Fill (latents + masked-image latents + 8×8 mask,
# packed), 64 for Kontext; guidance embeddings; CLIP-L-like and T5-like text encoders from
# configs; tokenizers built in code; model_index.json naming the real classes.
FLUX_T5_PIECES = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,'-")


def t5_tokenizer():
    """A Unigram T5 tokenizer over single characters (and '▁'-prefixed ones) built in code."""
    from transformers import T5TokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(p, -3.0) for p in FLUX_T5_PIECES] + [("▁" + p, -2.5) for p in FLUX_T5_PIECES]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(3, -1, -1)]
    return T5TokenizerFast(vocab=vocab, extra_ids=4)


def flux_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=8,
        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.1159, scaling_factor=0.3611)


def flux_pipeline(out: Path, kind: str) -> Path:
    """kind "fill" (FluxFillPipeline, transformer in 384 / out 64) or "kontext"
    (FluxKontextPipeline, in 64), saved to `out` with save_pretrained."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        FluxFillPipeline,
        FluxKontextPipeline,
        FluxTransformer2DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    tok = clip_tokenizer(out / "_tok")
    tok2 = t5_tokenizer()
    fill = kind == "fill"
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=384 if fill else 64, out_channels=64 if fill else None, num_layers=1,
        num_single_layers=1, attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
        pooled_projection_dim=32, guidance_embeds=True, axes_dims_rope=[4, 4, 8])
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=len(tok2), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
        max_image_seq_len=4096)
    parts = dict(scheduler=scheduler, vae=flux_vae(), text_encoder=clip_text_encoder(len(tok)), tokenizer=tok,
                 text_encoder_2=text_encoder_2, tokenizer_2=tok2, transformer=transformer)
    pipe = FluxFillPipeline(**parts) if fill else FluxKontextPipeline(**parts, image_encoder=None,
                                                                       feature_extractor=None)
    pipe.save_pretrained(out)
    index = json.loads((out / "model_index.json").read_text())
    index["tokenizer_2"] = ["transformers", "T5TokenizerFast"]  # as the real checkpoints name it
    (out / "model_index.json").write_text(json.dumps(index, indent=2))
    return out
