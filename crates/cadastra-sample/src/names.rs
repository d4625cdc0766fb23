//! Word lists for honest-looking Chinese data: surnames (weighted, with Laiwu's 亓 and 吕),
//! given names by sex and era, towns, roads, village names, companies and field names.
//! Every string here is representable in GBK (checked by a test).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Surnames with rough weights (Shandong frequencies, Laiwu's 亓 boosted).
pub const SURNAMES: &[(&str, u32)] = &[
    ("王", 90),
    ("张", 80),
    ("李", 85),
    ("刘", 60),
    ("陈", 30),
    ("杨", 30),
    ("赵", 30),
    ("孙", 30),
    ("徐", 20),
    ("马", 15),
    ("亓", 45),
    ("吕", 35),
    ("朱", 12),
    ("胡", 10),
    ("郭", 15),
    ("高", 18),
    ("林", 6),
    ("郑", 8),
    ("宋", 14),
    ("韩", 12),
    ("冯", 8),
    ("曹", 8),
    ("田", 10),
    ("董", 10),
    ("于", 10),
    ("魏", 8),
    ("程", 6),
    ("苏", 6),
    ("任", 8),
    ("姜", 10),
    ("崔", 8),
    ("石", 8),
    ("贾", 8),
    ("孟", 10),
    ("秦", 6),
    ("尹", 6),
    ("段", 5),
    ("侯", 6),
    ("毕", 6),
    ("鹿", 4),
    ("谷", 4),
    ("景", 4),
    ("牛", 5),
    ("颜", 4),
    ("房", 4),
    ("公", 3),
    ("逯", 3),
    ("翟", 4),
    ("潘", 4),
    ("范", 5),
    ("袁", 4),
    ("许", 6),
    ("邵", 4),
    ("邢", 5),
    ("郝", 4),
    ("武", 5),
    ("闫", 5),
    ("薛", 4),
    ("杜", 5),
    ("彭", 4),
    ("孔", 3),
    ("卢", 4),
    ("蔡", 3),
    ("司", 3),
    ("商", 3),
    ("亓官", 1),
    ("欧阳", 1),
];

/// Given names for men, older generation (born before about 1970).
pub const MALE_OLD: &[&str] = &[
    "建国", "建华", "国强", "志强", "德胜", "兆祥", "克俭", "玉成", "庆华", "秀峰", "传福", "长江",
    "洪亮", "振东", "继军", "福林", "宝山", "金山", "立新", "卫东", "红军", "树林", "德才", "茂盛",
    "广田", "成林", "守义", "明", "军", "刚", "平", "勇", "强", "忠",
];

/// Given names for men, younger generation.
pub const MALE_YOUNG: &[&str] = &[
    "伟", "磊", "洋", "杰", "涛", "斌", "超", "辉", "鹏", "飞", "鑫", "波", "宁", "浩", "浩然",
    "子豪", "宇航", "俊杰", "文博", "晓东", "海涛", "志刚", "建伟", "立伟", "玉龙", "家豪", "晨阳",
    "明轩", "一鸣", "振宇",
];

/// Given names for women, older generation.
pub const FEMALE_OLD: &[&str] = &[
    "秀英", "桂英", "玉兰", "秀兰", "凤英", "淑珍", "玉珍", "桂兰", "秀珍", "凤兰", "玉梅", "春梅",
    "红梅", "爱华", "丽华", "淑英", "秀云", "桂芳", "翠花", "素芳", "兰英", "芳",
];

/// Given names for women, younger generation.
pub const FEMALE_YOUNG: &[&str] = &[
    "娜", "敏", "静", "丽", "艳", "娟", "霞", "丽娟", "海燕", "晓燕", "婷婷", "雪", "倩", "欣怡",
    "子涵", "雨萱", "梦琪", "佳怡", "晓雪", "文静", "慧", "颖", "琳", "萍",
];

/// Streets (街道) and towns (镇) of the former 莱城区.
pub const LAIWU_TOWNS: &[&str] = &[
    "凤城街道",
    "张家洼街道",
    "高庄街道",
    "鹏泉街道",
    "口镇",
    "羊里镇",
    "方下镇",
    "牛泉镇",
    "苗山镇",
    "雪野镇",
    "大王庄镇",
    "寨里镇",
    "杨庄镇",
    "茶业口镇",
    "和庄镇",
];

/// Streets and towns of 钢城区.
pub const GANGCHENG_TOWNS: &[&str] = &[
    "艾山街道",
    "里辛街道",
    "汶源街道",
    "颜庄镇",
    "辛庄镇",
    "黄庄镇",
    "棋山镇",
];

/// Streets and towns of 章丘区 along the old border.
pub const ZHANGQIU_TOWNS: &[&str] = &["文祖街道", "曹范街道", "垛庄镇", "官庄街道", "埠村街道"];

/// Urban roads of 莱城区.
pub const LAIWU_ROADS: &[&str] = &[
    "鲁中东大街",
    "鲁中西大街",
    "汶河大道",
    "长勺北路",
    "长勺南路",
    "文化北路",
    "文化南路",
    "花园北路",
    "花园南路",
    "龙潭东大街",
    "龙潭西大街",
    "凤城东大街",
    "凤城西大街",
    "胜利北路",
    "胜利南路",
    "府前大街",
    "嬴牟西大街",
    "莲河路",
    "香山路",
    "泰山东街",
    "红石路",
    "汇源大街",
];

/// Urban roads of 钢城区.
pub const GANGCHENG_ROADS: &[&str] = &[
    "府前大街",
    "钢都大街",
    "新兴路",
    "双元大街",
    "九龙大街",
    "金水河路",
    "银河路",
    "艾山路",
    "里辛路",
    "汶源大街",
    "兴业路",
    "光明路",
];

/// Roads of 章丘区.
pub const ZHANGQIU_ROADS: &[&str] = &["汇泉路", "明水大道", "唐王山路", "世纪大道", "双山大街"];

/// Village name parts.
const VILLAGE_PREFIX: &[&str] = &[
    "东", "西", "南", "北", "前", "后", "大", "小", "上", "下", "",
];
const VILLAGE_CORE: &[&str] = &[
    "王庄",
    "李家庄",
    "张家洼",
    "石门",
    "杨家峪",
    "孟家庄",
    "吕家楼",
    "赵家泉",
    "亓家滩",
    "陈家岭",
    "刘家店",
    "官庄",
    "峪门",
    "泉子",
    "马家庄",
    "孙家庄",
    "宋家庄",
    "韩家洼",
    "黄山",
    "柳行",
    "枣园",
    "杏园",
    "桃花峪",
    "龙湾",
    "栗行",
    "郭家沟",
    "朱家埠",
    "崔家岭",
];

/// Field names (小地名) for rural plots.
pub const FIELD_NAMES: &[&str] = &[
    "东岭地",
    "西洼地",
    "南坡",
    "北沟",
    "河滩地",
    "大田",
    "长条地",
    "老坟地",
    "岭顶",
    "沟崖",
    "场院地",
    "南大地",
    "后山",
    "梨树园",
    "石屋子",
];

/// Company name parts.
const COMPANY_PLACE: &[&str] = &["莱芜市", "莱芜市", "山东", "莱芜"];
const COMPANY_CORE: &[&str] = &[
    "鑫源", "恒通", "泰和", "华宇", "金鼎", "宏达", "瑞丰", "汇丰", "永安", "新兴", "嬴城", "汶源",
    "鲁中", "凤城", "龙腾", "天元", "众诚", "盛世", "华信", "东方", "九龙", "钢都",
];
const COMPANY_TRADE: &[&str] = &[
    "商贸有限公司",
    "机械制造有限公司",
    "建筑工程有限公司",
    "房地产开发有限公司",
    "物流有限公司",
    "食品有限公司",
    "钢材有限公司",
    "粉末冶金有限公司",
    "农业开发有限公司",
    "化工有限公司",
    "电力设备有限公司",
    "矿业有限公司",
    "置业有限公司",
];

/// Registrars (登簿人), kept apart from the right holders' names.
pub const REGISTRARS_LAIWU: &[&str] = &["亓庆元", "吕晓岚", "张振华", "李秀梅", "王建军"];
/// Registrars of 钢城区.
pub const REGISTRARS_GANGCHENG: &[&str] = &["孟庆军", "谷玉凤", "刘海萍", "韩立本"];
/// Registrars of 章丘区.
pub const REGISTRARS_ZHANGQIU: &[&str] = &["焦志强", "李红霞", "郭振华"];

/// Pick one element.
pub fn pick<'a, T: ?Sized>(rng: &mut ChaCha8Rng, list: &'a [&'a T]) -> &'a T {
    list[rng.random_range(0..list.len())]
}

/// A surname, weighted.
pub fn surname(rng: &mut ChaCha8Rng) -> &'static str {
    let total: u32 = SURNAMES.iter().map(|s| s.1).sum();
    let mut r = rng.random_range(0..total);
    for (s, w) in SURNAMES {
        if r < *w {
            return s;
        }
        r -= w;
    }
    SURNAMES[0].0
}

/// A given name for the sex and an era (`old` = born before about 1970).
pub fn given_name(rng: &mut ChaCha8Rng, male: bool, old: bool) -> &'static str {
    let list = match (male, old) {
        (true, true) => MALE_OLD,
        (true, false) => MALE_YOUNG,
        (false, true) => FEMALE_OLD,
        (false, false) => FEMALE_YOUNG,
    };
    pick(rng, list)
}

/// A village name such as `东王庄村`.
pub fn village(rng: &mut ChaCha8Rng) -> String {
    format!("{}{}村", pick(rng, VILLAGE_PREFIX), pick(rng, VILLAGE_CORE))
}

/// A company name such as `莱芜市鑫源商贸有限公司`.
pub fn company(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}{}",
        pick(rng, COMPANY_PLACE),
        pick(rng, COMPANY_CORE),
        pick(rng, COMPANY_TRADE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk_ok(s: &str) -> bool {
        let (_, _, bad) = encoding_rs::GBK.encode(s);
        !bad
    }

    #[test]
    fn every_word_is_gbk() {
        let lists: &[&[&str]] = &[
            MALE_OLD,
            MALE_YOUNG,
            FEMALE_OLD,
            FEMALE_YOUNG,
            LAIWU_TOWNS,
            GANGCHENG_TOWNS,
            ZHANGQIU_TOWNS,
            LAIWU_ROADS,
            GANGCHENG_ROADS,
            ZHANGQIU_ROADS,
            VILLAGE_PREFIX,
            VILLAGE_CORE,
            FIELD_NAMES,
            COMPANY_PLACE,
            COMPANY_CORE,
            COMPANY_TRADE,
            REGISTRARS_LAIWU,
            REGISTRARS_GANGCHENG,
            REGISTRARS_ZHANGQIU,
        ];
        for l in lists {
            for w in *l {
                assert!(gbk_ok(w), "{w}");
            }
        }
        for (s, _) in SURNAMES {
            assert!(gbk_ok(s), "{s}");
        }
    }

    #[test]
    fn registrars_are_never_right_holders() {
        let regs = [REGISTRARS_LAIWU, REGISTRARS_GANGCHENG, REGISTRARS_ZHANGQIU];
        for (s, _) in SURNAMES {
            for l in [MALE_OLD, MALE_YOUNG, FEMALE_OLD, FEMALE_YOUNG] {
                for g in l {
                    let n = format!("{s}{g}");
                    assert!(!regs.iter().any(|r| r.contains(&n.as_str())), "{n}");
                }
            }
        }
    }
}
