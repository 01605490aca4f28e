"""What the desk may take into temporary storage (000 "物品寄存").

The seed: 易腐蚀食品、重要文件、现金、代金券、精密仪器、易破碎玻璃器皿、贵重物品 不予寄存. A
depositor files an item under a category and describes it; the description is read against a
lexicon per prohibited category. Each category lists the everyday words people use for such
items and the compounds that only look like them (an empty folder is not an important
document, a fruit knife is not fruit, a notebook is not a laptop): a word found inside one of
its category's exclusions does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.i18n import N_

PROHIBITED_CATEGORIES = {
    "perishable": N_("perishables"),
    "documents": N_("important documents"),
    "cash": N_("cash"),
    "vouchers": N_("vouchers"),
    "precision_instrument": N_("precision instruments"),
    "fragile_glass": N_("fragile glass"),
    "valuables": N_("valuables"),
}
ALLOWED_CATEGORIES = ("luggage", "bag", "box", "clothing", "books", "sports", "other")
# What the butler reads for each (translated where shown).
CATEGORY_TITLES = {
    "luggage": N_("Luggage"),
    "bag": N_("Bag"),
    "box": N_("Box"),
    "clothing": N_("Clothing"),
    "books": N_("Books"),
    "sports": N_("Sports gear"),
    "other": N_("Other"),
}


@dataclass(frozen=True)
class Lexicon:
    """The words that reveal a category, and the look-alikes that do not."""

    words: tuple[str, ...]
    exclusions: tuple[str, ...] = ()


# fmt: off
LEXICON: dict[str, Lexicon] = {
    "perishable": Lexicon(
        words=(
            "生鲜", "海鲜", "鲜鱼", "活鱼", "螃蟹", "大闸蟹", "虾", "水果", "苹果", "香蕉", "榴莲", "草莓", "车厘子", "樱桃",
            "荔枝", "葡萄", "西瓜", "蔬菜", "青菜", "蛋糕", "月饼", "粽子", "汤圆", "饺子", "肉", "排骨", "牛排", "鸡蛋", "牛奶",
            "酸奶", "奶茶", "冰淇淋", "雪糕", "冷冻", "冷藏", "熟食", "外卖", "饭菜", "便当", "面包", "鲜花", "花束", "fresh",
            "food", "cake", "fruit", "seafood", "meat", "milk", "flowers", "bouquet", "groceries",
            "ice cream", "mooncake",
        ),
        exclusions=(
            "水果刀", "水果盘", "果盘架", "蛋糕模具", "蛋糕盒(空)", "空蛋糕盒", "空月饼盒", "月饼盒(空)", "肉桂色", "假花", "仿真花",
            "干花", "塑料花", "food processor", "plastic flowers", "fake flowers", "dried flowers",
        ),
    ),
    "documents": Lexicon(
        words=(
            "房产证", "不动产证", "土地证", "合同", "协议", "证件", "身份证", "户口本", "户口簿", "护照", "港澳通行证", "结婚证",
            "出生证", "驾驶证", "驾照", "行驶证", "毕业证", "学位证", "证书", "档案", "票据", "发票", "公章", "印章", "文件",
            "contract", "passport", "document", "certificate", "deed", "id card",
        ),
        exclusions=(
            "空文件夹", "文件夹", "文件袋", "文件柜", "文件架", "文件筐", "证书框", "空相框", "folder", "document bag",
        ),
    ),
    "cash": Lexicon(
        words=(
            "现金", "现钞", "钞票", "纸币", "硬币", "零钱", "红包", "存单", "存折", "支票", "汇票", "本票", "银行卡", "信用卡",
            "cash", "money", "banknote", "cheque", "check book", "bank card", "credit card",
        ),
        exclusions=(
            "寄存单", "空红包", "红包袋", "红包封", "存钱罐(空)", "空存钱罐",
        ),
    ),
    "vouchers": Lexicon(
        words=(
            "代金券", "购物卡", "礼品卡", "储值卡", "消费卡", "提货券", "提货卡", "优惠券", "兑换券", "商品券", "购物券", "彩票", "股票",
            "债券", "voucher", "gift card", "coupon", "lottery ticket",
        ),
    ),
    "precision_instrument": Lexicon(
        words=(
            "仪器", "精密", "相机", "单反", "微单", "摄像机", "镜头", "无人机", "航拍器", "望远镜", "显微镜", "投影仪", "测量仪",
            "全站仪", "示波器", "camera", "lens", "instrument", "drone", "telescope", "microscope",
            "projector",
        ),
        exclusions=(
            "空相机包", "三脚架", "camera bag",
        ),
    ),
    "fragile_glass": Lexicon(
        words=(
            "玻璃", "瓷器", "陶瓷", "瓷碗", "瓷盘", "瓷瓶", "花瓶", "鱼缸", "镜子", "水晶", "酒杯", "红酒杯", "茶具", "紫砂",
            "灯罩", "玻璃瓶", "红酒", "白酒", "酒瓶", "glass", "porcelain", "ceramic", "vase", "fish tank",
            "aquarium", "mirror", "crystal", "wine",
        ),
        exclusions=(
            "钢化膜", "玻璃胶", "玻璃纸", "塑料花瓶", "不锈钢", "亚克力", "有机玻璃", "sunglasses", "glasses case",
            "fiberglass",
        ),
    ),
    "valuables": Lexicon(
        words=(
            "首饰", "珠宝", "黄金", "金条", "金饰", "金币", "银条", "钻石", "钻戒", "戒指", "项链", "手镯", "耳环", "翡翠",
            "玉镯", "玉器", "和田玉", "手表", "名表", "腕表", "名包", "奢侈品", "古董", "字画", "收藏品", "手机", "电脑",
            "笔记本电脑", "平板", "iPad", "MacBook", "iPhone", "游戏机", "钱包", "jewel", "jewellery",
            "jewelry", "gold", "diamond", "ring", "earring", "necklace", "bracelet", "jade",
            "watch", "laptop", "phone", "tablet", "antique", "painting", "wallet",
        ),
        exclusions=(
            "手机壳", "手机支架", "手机膜", "手机充电器", "电脑包(空)", "空电脑包", "电脑椅", "电脑桌", "表带", "空表盒", "黄金糕",
            "金针菇", "玉米", "戒指盒(空)", "平板拖车", "平板车", "ring binder", "watch strap", "phone case",
            "golden retriever",
        ),
    ),
}
# fmt: on

_ASCII_WORD = re.compile(r"^[\x20-\x7e]+$")


def _spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where ``term`` occurs in ``text`` (casefolded both); an English term only as whole
    words, so "cash" does not match "cashmere" nor "ring" "earring"... nor "string"."""
    needle = term.casefold()
    if _ASCII_WORD.match(needle) and needle[:1].isalpha():
        pattern = re.compile(rf"(?<![a-z]){re.escape(needle)}(?:s|es)?(?![a-z])")
        return [m.span() for m in pattern.finditer(text)]
    out, start = [], text.find(needle)
    while start != -1:
        out.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return out


def _reveals(text: str, lexicon: Lexicon) -> bool:
    masked = [span for term in lexicon.exclusions for span in _spans(text, term)]
    for word in lexicon.words:
        for start, end in _spans(text, word):
            if not any(a <= start and end <= b for a, b in masked):
                return True
    return False


def storage_refusal(category: str, description: str) -> str | None:
    """The prohibited category an item falls under, or None when it may be stored."""
    if category in PROHIBITED_CATEGORIES:
        return category
    text = description.casefold()
    for cat, lexicon in LEXICON.items():
        if _reveals(text, lexicon):
            return cat
    return None
