import pytest

from lego_demo.errors import BadInput, SpecError, UnknownBrick
from lego_demo.registry import Registry, load_plugin
from lego_demo.spec import Input, brick

OFFICIAL = ["INVERSE", "RES", "SOS", "MASK-SEG", "ADD-PRED", "CMI-PRED", "BBOX", "FASTINPAINT", "FILL", "RCM",
            "INPAINT", "CBG", "STYLE", "COMPOSE", "RESIZE", "ENV", "POSE"]


def test_every_official_brick_is_registered(registry):
    for name in OFFICIAL:
        assert registry.resolve(name) is not None, name


@pytest.mark.parametrize("spelling,name", [("FLUX-FILL", "FILL"), ("fill", "FILL"), ("flux_rcm", "RCM"),
                                           ("MASK-INVERSE", "INVERSE"), ("FLUX-BRIGHT", "BRIGHT")])
def test_aliases_and_engine_prefix(registry, spelling, name):
    assert registry.get(spelling).name == name


def test_unknown_brick_suggests(registry):
    with pytest.raises(UnknownBrick, match="did you mean INPAINT"):
        registry.get("INPIANT")


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="bad name"), "UPPER-KEBAB"),
    (dict(kind="transform"), "kind"),
    (dict(summary=" "), "summary"),
    (dict(inputs={"image": "Picture"}), "unknown value type 'Picture'"),
    (dict(outputs={}), "no outputs"),
    (dict(input_aliases={"ratio": ("nope",)}), "unknown inputs"),
])
def test_spec_mistakes_fail_at_declaration_naming_the_brick(kwargs, match):
    args = dict(name="MY-TOOL", kind="edit", summary="does a thing", inputs={"image": "Image"},
                outputs={"image": "Image"})
    args.update(kwargs)
    name = args.pop("name")
    with pytest.raises(SpecError, match=match):
        brick(name, **args)


def test_duplicate_name_fails_naming_both():
    a = brick("DUP", kind="edit", summary="a", inputs={"image": "Image"}, outputs={"image": "Image"})
    b = brick("DUP", kind="edit", summary="b", inputs={"image": "Image"}, outputs={"image": "Image"})
    reg = Registry([a])
    with pytest.raises(SpecError, match="DUP"):
        reg.register(b, origin="other.py")


def test_alias_clash_fails():
    a = brick("ONE", kind="edit", summary="a", inputs={"image": "Image"}, outputs={"image": "Image"}, aliases=("X",))
    b = brick("X", kind="edit", summary="b", inputs={"image": "Image"}, outputs={"image": "Image"})
    with pytest.raises(SpecError, match="already used by brick ONE"):
        Registry([a, b])


def test_plugin_loading_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.py"
    with pytest.raises(BadInput, match="nope.py"):
        load_plugin(missing)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(BadInput, match="broken.py.*boom"):
        load_plugin(broken)
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(BadInput, match="declares no brick"):
        load_plugin(empty)


def test_plugin_file_adds_a_brick_everywhere(tmp_path):
    plugin = tmp_path / "sharpen.py"
    plugin.write_text(
        "from lego_demo.spec import brick\n"
        "SHARPEN = brick('SHARPEN', kind='edit', summary='Sharpen the image', inputs={'image': 'Image'},"
        " outputs={'image': 'Image'}, constraint='None')\n"
        "@SHARPEN.engine('identity-test')\n"
        "def run(ctx, image):\n    return {'image': image}\n"
    )
    reg = Registry.discover([plugin])
    assert reg.get("SHARPEN").kind == "edit"
    assert "SHARPEN (Sharpen the image)" in reg.render_tool_list()
    assert any(b["name"] == "SHARPEN" for b in reg.to_json())


def test_engine_status_reports_reasons():
    spec = brick("NEEDS-GPU", kind="edit", summary="x", inputs={"image": Input("Image")}, outputs={"image": "Image"})

    @spec.engine("big-model", kind="model", check=lambda opts: "no CUDA GPU here")
    def run(ctx, image):
        return {"image": image}

    reg = Registry([spec])
    assert reg.engine_status(spec) == [{"name": "big-model", "kind": "model", "available": False, "reason": "no CUDA GPU here"}]
    assert not reg.available(spec)


def test_tool_list_renders_both_kinds(registry):
    text = registry.render_tool_list()
    assert text.startswith("PREDICT model list:")
    assert "EDIT model list:" in text
    assert "Input: {Image[image], Str[prompt]}" in text


@pytest.mark.parametrize("kwargs,match", [
    (dict(type="Str", range=(0, 1)), "for Float inputs"),
    (dict(type="Float", range=(1, 0)), "low < high"),
    (dict(type="Float", range=(0, 1), neutral=2), "outside range"),
])
def test_input_range_mistakes_fail_at_declaration(kwargs, match):
    with pytest.raises(SpecError, match=match):
        Input(**kwargs)


def test_ranges_and_use_for_are_part_of_the_spec():
    spec = brick("MY-TOOL", kind="edit", summary="does a thing",
                 inputs={"image": "Image", "ratio": Input("Float", range=(0, 1), neutral=0.5)},
                 outputs={"image": "Image"}, use_for=(" brighten the photo ",))
    assert spec.inputs["ratio"].range == (0.0, 1.0) and spec.inputs["ratio"].neutral == 0.5
    assert spec.use_for == ("brighten the photo",)
    listed = spec.to_json()
    assert listed["inputs"]["ratio"] == {"type": "Float", "optional": False, "range": [0.0, 1.0], "neutral": 0.5}
    assert listed["use_for"] == ["brighten the photo"]
    with pytest.raises(SpecError, match="use_for"):
        brick("MY-TOOL", kind="edit", summary="x", inputs={"image": "Image"}, outputs={"image": "Image"},
              use_for="brighten")
