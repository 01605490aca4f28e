"""物品寄存: the desk refuses perishables, important documents, cash, vouchers, precision
instruments, fragile glass and valuables however people phrase them, and takes what only looks
like them (an empty folder, a fruit knife, a notebook, a cashmere coat)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.parcels.storage_rules import ALLOWED_CATEGORIES, PROHIBITED_CATEGORIES, storage_refusal

# How people describe what they leave at the desk.
ZH_FRAMES = (
    "{x}",
    "一袋{x}",
    "两盒{x}",
    "帮我寄存{x}，明天来取",
    "行李箱里有{x}",
    "{x}（朋友来拿）",
)
EN_FRAMES = ("{x}", "a bag of {x}", "box with {x} inside", "my {x}, back tomorrow")

PROHIBITED = {
    "perishable": (
        [
            "月饼",
            "鲜花",
            "海鲜",
            "水果",
            "大闸蟹",
            "蛋糕",
            "牛奶",
            "冷冻饺子",
            "榴莲",
            "外卖",
            "排骨",
        ],
        ["fresh fish", "fruit", "flowers", "seafood", "mooncakes", "ice cream", "birthday cake"],
    ),
    "documents": (
        ["房产证", "身份证", "户口本", "护照", "购房合同", "毕业证书", "重要文件", "驾驶证"],
        ["passport", "contract", "property deed", "certificates", "id card"],
    ),
    "cash": (
        ["现金", "存单", "存折", "支票", "一沓钞票", "银行卡", "红包和零钱"],
        ["cash", "money", "cheque", "banknotes", "credit card"],
    ),
    "vouchers": (
        ["代金券", "购物卡", "提货券", "礼品卡", "彩票"],
        ["vouchers", "gift cards", "coupons"],
    ),
    "precision_instrument": (
        ["相机", "单反相机", "无人机", "镜头", "望远镜", "投影仪", "测量仪器"],
        ["camera", "drone", "lens", "telescope", "projector"],
    ),
    "fragile_glass": (
        ["花瓶", "鱼缸", "玻璃杯", "陶瓷碗", "镜子", "水晶摆件", "红酒", "紫砂茶具"],
        ["vase", "fish tank", "glasses", "porcelain plates", "mirror", "wine"],
    ),
    "valuables": (
        ["金条", "钻戒", "翡翠手镯", "手机", "笔记本电脑", "名表", "首饰", "古董字画", "钱包"],
        ["gold bar", "diamond ring", "jade bracelet", "phone", "laptop", "watch", "jewellery"],
    ),
}

HARMLESS = (
    ["空文件夹", "文件夹", "行李箱", "衣服", "被子", "书", "网球拍", "篮球", "玩具", "鞋子", "纸箱",
     "雨伞", "笔记本", "水果刀", "手机壳", "手机支架", "表带", "空月饼盒", "三脚架", "塑料花瓶",
     "不锈钢保温杯", "电脑椅", "干花", "平板车", "空红包"],
    ["suitcase", "empty folder", "clothes", "cashmere coat", "books", "tennis racket", "toys",
     "shoes", "phone case", "watch strap", "ring binder", "earplugs", "a string bag", "sunglasses"],
)  # fmt: skip


def phrasings(zh: list[str], en: list[str]) -> list[str]:
    return [f.format(x=x) for x in zh for f in ZH_FRAMES] + [
        f.format(x=x) for x in en for f in EN_FRAMES
    ]


PROHIBITED_CASES = [
    (category, text) for category, (zh, en) in PROHIBITED.items() for text in phrasings(zh, en)
]
HARMLESS_CASES = phrasings(*HARMLESS)


def test_there_are_a_few_hundred_phrasings() -> None:
    assert len(PROHIBITED_CASES) + len(HARMLESS_CASES) >= 500


@pytest.mark.parametrize(("category", "text"), PROHIBITED_CASES)
def test_a_prohibited_item_is_refused_under_its_category_whatever_it_is_filed_under(
    category: str, text: str
) -> None:
    for filed_under in ("other", "box", "bag"):
        assert storage_refusal(filed_under, text) == category, (filed_under, text)


@pytest.mark.parametrize("text", HARMLESS_CASES)
def test_a_harmless_item_that_only_looks_like_one_is_taken(text: str) -> None:
    assert storage_refusal("other", text) is None, text


def test_an_item_filed_under_a_prohibited_category_is_refused_whatever_its_description() -> None:
    for category in PROHIBITED_CATEGORIES:
        assert storage_refusal(category, "一个箱子") == category


def test_a_look_alike_does_not_hide_the_real_thing_beside_it() -> None:
    assert storage_refusal("other", "空文件夹和房产证") == "documents"
    assert storage_refusal("other", "水果刀和一箱苹果") == "perishable"
    assert storage_refusal("other", "手机壳、手机") == "valuables"


@given(st.text(max_size=60), st.sampled_from(ALLOWED_CATEGORIES))
def test_any_description_is_either_taken_or_refused_by_a_named_category(
    text: str, category: str
) -> None:
    assert storage_refusal(category, text) in (None, *PROHIBITED_CATEGORIES)
