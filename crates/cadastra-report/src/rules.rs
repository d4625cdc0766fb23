//! Short titles of the rule catalogue (domain-brief §6) for the reports, Chinese and English.
//! The rules themselves live in cadastra-rules; a rule missing here is shown by its id alone.

/// (id, Chinese title, English title)
pub const TITLES: &[(&str, &str, &str)] = &[
    ("FMT-01", "Shapefile 文件组完整", "shapefile set complete"),
    ("FMT-02", "文本编码确定", "text encoding resolved"),
    ("FMT-03", "字段名与类型匹配", "field names and types match"),
    ("FMT-04", "数值与日期可解析", "numbers and dates parse"),
    (
        "FMT-05",
        "全角、空白与占位符规范化",
        "full-width, blanks, placeholders normalised",
    ),
    ("CRS-01", "坐标系可识别", "CRS identified"),
    (
        "CRS-02",
        "坐标落在坐标系范围内",
        "coordinates inside the CRS window",
    ),
    ("CRS-03", "X/Y 互换", "X/Y swapped"),
    ("CRS-04", "带号前缀一致", "zone prefix consistent"),
    ("CRS-05", "基准转换非近似", "datum change is not ballpark"),
    ("CRS-06", "控制点残差", "control-point residuals"),
    ("GEOM-01", "几何有效性", "geometry validity"),
    ("GEOM-02", "空几何", "null or empty geometry"),
    (
        "GEOM-03",
        "重复点、尖刺、零长边",
        "duplicate vertices, spikes, zero-length edges",
    ),
    ("GEOM-04", "多部件宗地", "multipart parcel"),
    ("GEOM-05", "碎片面", "sliver / tiny polygon"),
    ("GEOM-06", "环方向", "ring orientation"),
    ("TOPO-01", "宗地重叠", "parcels overlap"),
    ("TOPO-02", "宗地间缝隙", "gaps between parcels"),
    (
        "TOPO-03",
        "宗地落在地籍子区内",
        "parcel within its cadastral sub-zone",
    ),
    ("TOPO-04", "自然幢落在宗地内", "building within its parcel"),
    ("TOPO-05", "自然幢重叠", "buildings overlap"),
    (
        "TOPO-06",
        "界址点与宗地边界一致",
        "boundary points on parcel boundary",
    ),
    (
        "TOPO-07",
        "界址线覆盖宗地边界",
        "boundary lines cover the parcel boundary",
    ),
    ("TOPO-08", "跨数据源接边", "edge-matching across sources"),
    ("TOPO-09", "覆盖有效性", "coverage validity"),
    ("ATTR-01", "必填字段", "mandatory fields"),
    ("ATTR-02", "代码值域", "coded values in domain"),
    (
        "ATTR-03",
        "用途、权利类型、特征码一致",
        "use, right type and feature code coherent",
    ),
    ("ATTR-04", "证件号校验", "ID number checks"),
    ("ATTR-05", "证件种类与号码一致", "ID type matches number"),
    ("ATTR-06", "日期合理", "dates plausible"),
    ("ATTR-07", "坐落一致", "addresses consistent"),
    (
        "AREA-01",
        "登记面积与图形面积",
        "registered vs geometric area",
    ),
    ("AREA-02", "图解面积限差", "graphical area tolerance"),
    ("AREA-03", "街坊面积闭合", "block area closure"),
    ("AREA-04", "同一坐标系比较面积", "areas compared in one CRS"),
    ("AREA-05", "房屋面积关系", "house area sums"),
    ("AREA-06", "面积单位混淆", "area unit mix-up"),
    (
        "UNIT-01",
        "不动产单元号长度与字符",
        "unit number length and characters",
    ),
    ("UNIT-02", "不动产单元号各位编码", "unit number positions"),
    ("UNIT-03", "行政区代码", "county code"),
    ("UNIT-04", "特征码组合", "feature-code pairs"),
    ("UNIT-05", "定着物编号", "fixture number"),
    (
        "UNIT-06",
        "单元号与宗地、幢对应",
        "unit number matches parcel and building",
    ),
    ("UNIT-07", "单元号唯一", "unit number unique"),
    ("UNIT-08", "虚拟单元号", "virtual unit number"),
    ("LINK-01", "宗地无登记", "parcel without registration"),
    ("LINK-02", "信息缺失", "registration data missing"),
    ("LINK-03", "有证无图", "right without geometry"),
    ("LINK-04", "户落幢、幢落宗", "unit→building→parcel links"),
    ("LINK-05", "按份共有比例之和", "shares sum to 100 %"),
    ("LINK-06", "证号重复", "certificate reused"),
    (
        "LINK-07",
        "抵押查封指向历史权利",
        "encumbrance on historical right",
    ),
    (
        "MERGE-01",
        "同号不同图或属性",
        "same key, different geometry or attributes",
    ),
    ("MERGE-02", "异号同地", "different keys, same ground"),
    ("MERGE-03", "跨区宗地", "parcel crosses a district border"),
    (
        "MERGE-04",
        "同人证件号不一致",
        "same person, inconsistent ID",
    ),
    (
        "MERGE-05",
        "地籍与登记不一致",
        "cadastre and registration disagree",
    ),
];

/// (Chinese, English) title of a rule id, if catalogued.
pub fn title(id: &str) -> Option<(&'static str, &'static str)> {
    TITLES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, z, e)| (*z, *e))
}

/// Chinese and English name of a severity.
pub fn severity_name(s: cadastra_model::Severity) -> (&'static str, &'static str) {
    match s {
        cadastra_model::Severity::E => ("错误", "error"),
        cadastra_model::Severity::W => ("警告", "warning"),
        cadastra_model::Severity::I => ("提示", "info"),
    }
}
