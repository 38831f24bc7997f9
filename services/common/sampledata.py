"""Deterministic synthetic people, enterprises and places of Bắc Giang, from a seed.

Every back end draws from these generators, so the data agree across services: the
citizen the population database returns is the one social insurance and land know. Nothing
here is real; the identifiers follow the national formats.

Tests and agency developers get valid sample identities the same way:
`citizens(seed, 10)[0].so_dinh_danh`, `enterprises(seed, 10)[0].msdn` (seed = the topology's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

HO = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Thân",
    "Giáp",
    "Hà",
    "Nông",
    "Lương",
]
DEM_NAM = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Xuân", "Đình", "Mạnh"]
DEM_NU = ["Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Phương", "Diệu", "Khánh", "Mai"]
TEN_NAM = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khải",
    "Long",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Thắng",
    "Trung",
    "Tuấn",
    "Việt",
    "Vinh",
    "Huy",
]
TEN_NU = [
    "Anh",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Loan",
    "Mai",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Thảo",
    "Trang",
    "Vân",
    "Yến",
]

# District (huyện/thành phố) -> communes (xã/phường/thị trấn) of Bắc Giang
DISTRICTS: dict[str, list[str]] = {
    "Thành phố Bắc Giang": [
        "Phường Trần Phú",
        "Phường Hoàng Văn Thụ",
        "Phường Ngô Quyền",
        "Phường Xương Giang",
        "Xã Dĩnh Trì",
    ],
    "Huyện Lục Ngạn": ["Thị trấn Chũ", "Xã Quý Sơn", "Xã Phượng Sơn", "Xã Hồng Giang"],
    "Huyện Lục Nam": ["Thị trấn Đồi Ngô", "Xã Cẩm Lý", "Xã Bảo Đài", "Xã Tiên Hưng"],
    "Huyện Sơn Động": ["Thị trấn An Châu", "Xã Tuấn Đạo", "Xã Yên Định"],
    "Huyện Yên Thế": ["Thị trấn Cầu Gồ", "Xã Phồn Xương", "Xã Tam Tiến"],
    "Huyện Tân Yên": ["Thị trấn Cao Thượng", "Xã Ngọc Thiện", "Xã Việt Lập"],
    "Huyện Lạng Giang": ["Thị trấn Vôi", "Xã Tân Dĩnh", "Xã Yên Mỹ"],
    "Huyện Hiệp Hòa": ["Thị trấn Thắng", "Xã Đức Thắng", "Xã Mai Đình"],
    "Huyện Việt Yên": ["Thị trấn Bích Động", "Xã Quang Châu", "Xã Vân Trung"],
    "Huyện Yên Dũng": ["Thị trấn Nham Biền", "Xã Tiến Dũng", "Xã Đồng Phúc"],
}
# GSO codes of Bắc Giang's districts (real); communes get the district's code and their
# place in DISTRICTS (synthetic), five digits as GSO commune codes are.
DISTRICT_CODES = {
    "Thành phố Bắc Giang": "213",
    "Huyện Yên Thế": "215",
    "Huyện Tân Yên": "216",
    "Huyện Lạng Giang": "217",
    "Huyện Lục Nam": "218",
    "Huyện Lục Ngạn": "219",
    "Huyện Sơn Động": "220",
    "Huyện Yên Dũng": "221",
    "Huyện Việt Yên": "222",
    "Huyện Hiệp Hòa": "223",
}
PROVINCE_CODE = "24"  # Bắc Giang's GSO code


def district_code(huyen: str) -> str:
    return DISTRICT_CODES.get(huyen, "000")


def commune_code(huyen: str, xa: str) -> str:
    communes = DISTRICTS.get(huyen, [])
    return f"{district_code(huyen)}{communes.index(xa) + 1 if xa in communes else 0:02d}"


STREETS = [
    "Nguyễn Văn Cừ",
    "Hoàng Hoa Thám",
    "Lê Lợi",
    "Xương Giang",
    "Nguyễn Thị Lưu",
    "Thân Nhân Trung",
    "Giáp Hải",
    "Lý Thái Tổ",
]
ETHNIC = ["Kinh"] * 8 + ["Nùng", "Tày", "Sán Chay", "Sán Dìu", "Hoa", "Dao"]
BIRTH_PROVINCES = ["024"] * 8 + ["001", "019", "027", "031"]  # Bắc Giang, Hà Nội, ...
PROVINCE_NAMES = {
    "024": "Bắc Giang",
    "001": "Hà Nội",
    "019": "Thái Nguyên",
    "027": "Bắc Ninh",
    "031": "Hải Phòng",
}
BUSINESS_LINES = [
    "Trồng cây ăn quả",
    "Chế biến và bảo quản rau quả",
    "Sản xuất linh kiện điện tử",
    "Xây dựng nhà các loại",
    "Bán buôn nông, lâm sản",
    "Vận tải hàng hóa bằng đường bộ",
    "Dịch vụ lưu trú ngắn ngày",
    "May trang phục",
]


@dataclass(frozen=True)
class Address:
    so_nha: str
    xa: str
    huyen: str
    tinh: str = "Bắc Giang"

    def __str__(self) -> str:
        return f"{self.so_nha}, {self.xa}, {self.huyen}, tỉnh {self.tinh}"


@dataclass(frozen=True)
class Citizen:
    so_dinh_danh: str  # 12-digit citizen ID (CCCD)
    ho_ten: str
    gioi_tinh: int  # 1 male, 2 female (social-insurance coding)
    ngay_sinh: date
    dan_toc: str
    que_quan: str
    thuong_tru: Address
    ma_ho: str  # household code
    so_bhxh: str  # 10-digit social-insurance number
    ma_so_thue: str  # personal tax code (the CCCD since 2025, as reformed)


@dataclass(frozen=True)
class Enterprise:
    msdn: str  # 10-digit enterprise code (= tax code)
    ten: str
    loai_hinh: str
    dia_chi: Address | str  # a seeded enterprise gives its address as one line
    nguoi_dai_dien: str  # a citizen's ID
    ngay_thanh_lap: date
    von_dieu_le: int
    nganh_nghe: str
    tinh_trang: str


def cccd(rng: random.Random, province: str, male: bool, born: date, sequence: int) -> str:
    """Province of birth (3) + century/sex (1) + year (2) + sequence (6)."""
    century_sex = (0 if born.year < 2000 else 2) + (0 if male else 1)
    return f"{province}{century_sex}{born.year % 100:02d}{sequence:06d}"


def _address(rng: random.Random) -> Address:
    huyen = rng.choice(list(DISTRICTS))
    return Address(
        so_nha=f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}"
        if rng.random() < 0.4
        else f"Thôn {rng.choice(['Đông', 'Tây', 'Nam', 'Bắc', 'Trung', 'Hạ', 'Thượng'])}",
        xa=rng.choice(DISTRICTS[huyen]),
        huyen=huyen,
    )


# The identities the contracts' examples name (contracts/services/*.py): in every seed's data,
# so a call made from a contract's example (`gsp-sandbox verify`, generated clients) finds
# its record and gets the success shape, not a not-found.
EXAMPLE_CITIZENS = (
    Citizen(
        so_dinh_danh="024090012345",
        ho_ten="Nguyễn Văn An",
        gioi_tinh=1,
        ngay_sinh=date(1990, 1, 15),
        dan_toc="Kinh",
        que_quan="Bắc Giang",
        thuong_tru=Address("Số 12 đường Lê Lợi", "Phường Hoàng Văn Thụ", "Thành phố Bắc Giang"),
        ma_ho="HGD024999001",
        so_bhxh="2490012345",
        ma_so_thue="024090012345",
    ),
    Citizen(
        so_dinh_danh="024190012345",
        ho_ten="Trần Thị Lan",
        gioi_tinh=2,
        ngay_sinh=date(1990, 6, 2),
        dan_toc="Kinh",
        que_quan="Bắc Giang",
        thuong_tru=Address("Số 12 đường Lê Lợi", "Phường Hoàng Văn Thụ", "Thành phố Bắc Giang"),
        ma_ho="HGD024999001",
        so_bhxh="2490012346",
        ma_so_thue="024190012345",
    ),
)
EXAMPLE_ENTERPRISES = (
    Enterprise(
        msdn="2400011234",
        ten="CÔNG TY TNHH NÔNG SẢN LỤC NGẠN BẮC GIANG",
        loai_hinh="Công ty TNHH",
        dia_chi=Address("Thôn Trung", "Thị trấn Chũ", "Huyện Lục Ngạn"),
        nguoi_dai_dien="024090012345",
        ngay_thanh_lap=date(2015, 3, 20),
        von_dieu_le=5_000_000_000,
        nganh_nghe="Bán buôn nông, lâm sản",
        tinh_trang="Đang hoạt động",
    ),
)


@lru_cache(maxsize=16)
def citizens(seed: int, count: int = 500) -> tuple[Citizen, ...]:
    """The example citizens, then generated ones: `count` in all."""
    return (*EXAMPLE_CITIZENS, *_generated_citizens(seed, count))[:count]


def _generated_citizens(seed: int, count: int) -> list[Citizen]:
    rng = random.Random(f"citizens:{seed}")
    people: list[Citizen] = []
    used: set[str] = {c.so_dinh_danh for c in EXAMPLE_CITIZENS}
    for i in range(count):
        male = rng.random() < 0.5
        born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 82))
        province = rng.choice(BIRTH_PROVINCES)
        sequence = rng.randint(1, 999_999)
        number = cccd(rng, province, male, born, sequence)
        while number in used:
            sequence = (sequence + 1) % 1_000_000
            number = cccd(rng, province, male, born, sequence)
        used.add(number)
        name = " ".join(
            (
                rng.choice(HO),
                rng.choice(DEM_NAM if male else DEM_NU),
                rng.choice(TEN_NAM if male else TEN_NU),
            )
        )
        people.append(
            Citizen(
                so_dinh_danh=number,
                ho_ten=name,
                gioi_tinh=1 if male else 2,
                ngay_sinh=born,
                dan_toc=rng.choice(ETHNIC),
                que_quan=PROVINCE_NAMES[province],
                thuong_tru=_address(rng),
                ma_ho=f"HGD024{i // 4:06d}",
                so_bhxh=f"24{rng.randint(0, 99_999_999):08d}",
                ma_so_thue=number,
            )
        )
    return people


@lru_cache(maxsize=16)
def enterprises(seed: int, count: int = 200) -> tuple[Enterprise, ...]:
    """The example enterprises, then generated ones: `count` in all."""
    examples = {e.msdn for e in EXAMPLE_ENTERPRISES}
    generated = [e for e in _generated_enterprises(seed, count) if e.msdn not in examples]
    return (*EXAMPLE_ENTERPRISES, *generated)[:count]


def _generated_enterprises(seed: int, count: int) -> list[Enterprise]:
    rng = random.Random(f"enterprises:{seed}")
    people = citizens(seed)
    kinds = ["Công ty TNHH", "Công ty cổ phần", "Hợp tác xã", "Doanh nghiệp tư nhân"]
    words = [
        "Phát triển",
        "Nông sản",
        "Vải thiều",
        "Xây dựng",
        "Thương mại",
        "Điện tử",
        "Kỹ thuật",
        "Xanh",
        "Hòa Phát",
        "Sông Thương",
        "Tây Yên Tử",
        "Lục Ngạn",
    ]
    out = []
    for i in range(count):
        kind = rng.choice(kinds)
        founded = date(2000, 1, 1) + timedelta(days=rng.randint(0, 365 * 24))
        out.append(
            Enterprise(
                msdn=f"24{i:04d}{rng.randint(0, 9999):04d}",
                ten=f"{kind} {rng.choice(words)} {rng.choice(words)} Bắc Giang".upper(),
                loai_hinh=kind,
                dia_chi=_address(rng),
                nguoi_dai_dien=rng.choice(people).so_dinh_danh,
                ngay_thanh_lap=founded,
                von_dieu_le=rng.randint(1, 500) * 100_000_000,
                nganh_nghe=rng.choice(BUSINESS_LINES),
                tinh_trang=rng.choice(
                    ["Đang hoạt động"] * 8 + ["Tạm ngừng kinh doanh", "Đã giải thể"]
                ),
            )
        )
    return out


def citizen_index(seed: int) -> dict[str, Citizen]:
    return {c.so_dinh_danh: c for c in citizens(seed)}


def enterprise_index(seed: int) -> dict[str, Enterprise]:
    return {e.msdn: e for e in enterprises(seed)}
