"""What a back end serves from: the generated sample data of its seed, plus seeded records.

A seeded record with the id of a generated one replaces it, so an agency can pin a known
identity; every other generated record stays as the seed makes it.
"""

from __future__ import annotations

from functools import cached_property

from contracts.seeds import SeedCitizen, SeedDossier, SeedEnterprise
from services.common.sampledata import Address, Citizen, Enterprise, citizens, enterprises
from services.common.seeds import SeedSet


def _citizen(c: SeedCitizen) -> Citizen:
    home = c.noiThuongTru
    return Citizen(
        so_dinh_danh=c.soDinhDanh,
        ho_ten=c.hoTen,
        gioi_tinh=c.gioiTinh,
        ngay_sinh=c.ngaySinh,
        dan_toc=c.danToc,
        que_quan=c.queQuan,
        thuong_tru=Address(
            so_nha=home.chiTiet, xa=home.xaPhuong, huyen=home.quanHuyen, tinh=home.tinhThanh
        ),
        ma_ho=c.household,
        so_bhxh=c.social_insurance_number,
        ma_so_thue=c.soDinhDanh,  # a person's tax code is their citizen ID
    )


def _enterprise(e: SeedEnterprise) -> Enterprise:
    return Enterprise(
        msdn=e.MaSoDoanhNghiep,
        ten=e.TenDoanhNghiep,
        loai_hinh=e.LoaiHinh,
        dia_chi=e.DiaChiTruSo,
        nguoi_dai_dien=e.NguoiDaiDienPhapLuat,
        ngay_thanh_lap=e.NgayThanhLap,
        von_dieu_le=e.VonDieuLe,
        nganh_nghe=e.NganhNgheChinh,
        tinh_trang=e.TinhTrang,
    )


class SampleData:
    """Built once per back end at start; the lists are made when first asked for."""

    def __init__(self, seed: int, seeded: SeedSet | None = None) -> None:
        self.seed = seed
        self.seeded = seeded or SeedSet()

    @cached_property
    def citizens(self) -> tuple[Citizen, ...]:
        own = [_citizen(c) for c in self.seeded.citizens]
        ids = {c.so_dinh_danh for c in own}
        return (*(c for c in citizens(self.seed) if c.so_dinh_danh not in ids), *own)

    @cached_property
    def citizen_index(self) -> dict[str, Citizen]:
        return {c.so_dinh_danh: c for c in self.citizens}

    @cached_property
    def enterprises(self) -> tuple[Enterprise, ...]:
        own = [_enterprise(e) for e in self.seeded.enterprises]
        codes = {e.msdn for e in own}
        return (*(e for e in enterprises(self.seed) if e.msdn not in codes), *own)

    @cached_property
    def enterprise_index(self) -> dict[str, Enterprise]:
        return {e.msdn: e for e in self.enterprises}

    @property
    def dossiers(self) -> tuple[SeedDossier, ...]:
        return self.seeded.dossiers
