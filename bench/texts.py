"""Plausible, varied Chinese prose for the text parts (一、五、六) of generated reports.

Sentences are drawn from banks per topic, shuffled and filled with the unit's own figures, so that
no two units' texts are identical (as real reports are not — copied text is itself a finding).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

FOCUS = (
    "优化营商环境",
    "乡村振兴",
    "教育医疗",
    "安全生产",
    "生态环境保护",
    "稳就业保民生",
    "城市更新",
    "养老服务",
    "食品药品安全",
    "防汛抗旱",
    "老旧小区改造",
    "社会救助",
    "减税降费",
    "重大项目建设",
    "公共资源交易",
)

COLUMNS = ("政策文件", "工作动态", "通知公告", "财政信息", "人事信息", "政策解读", "行政执法公示", "重点领域信息公开")

OPENING = (
    "{year}年，{agency}坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《中华人民共和国政府信息公开条例》和上级关于政务公开工作的部署要求，坚持以公开为常态、不公开为例外，不断提升政务公开质量和实效。",
    "{year}年，{agency}在{parent}的统一部署下，深入推进决策、执行、管理、服务、结果公开，政府信息公开工作取得新的进展。",
    "{year}年以来，{agency}认真落实{parent}政务公开工作要点，围绕中心工作，以群众需求为导向，扎实推进政府信息公开各项工作。",
    "本年度，我{self}高度重视政府信息公开工作，将其纳入年度重点工作统筹推进，严格按照《条例》规定和年度工作要点抓好落实。",
)

PROACTIVE = (
    "（一）主动公开。全年通过政府门户网站、政务新媒体等渠道主动公开政府信息{n_pub}条，其中政策文件{n_doc}件、工作动态{n_news}条。",
    "全年制发行政规范性文件{reg_issued}件，废止{reg_abolished}件，现行有效{reg_stock}件，均按规定在规范性文件栏目集中公开。",
    "公开行政许可决定{permits}件、行政处罚决定{penalties}件，做到执法结果应公开尽公开。",
    "围绕{focus}等社会关注事项，及时发布政策解读{n_interp}篇，其中图解、视频等多样化解读{n_visual}篇。",
    "规范财政预决算公开，按时公开部门预算、决算和“三公”经费情况，公开率达到100%。",
    "持续推进{focus}、公共资源配置、社会公益事业建设等重点领域信息公开，及时回应社会关切。",
    "对照主动公开基本目录逐项梳理公开事项{n_items}项，做到目录动态调整、内容及时更新。",
    "在{column}栏目集中发布相关信息{n_col}条，方便群众查阅。",
)

ON_REQUEST = (
    "{apps_sentence}",
    "{apps_detail}",
    "严格执行依申请公开受理、审查、答复等工作流程，规范答复文书格式，答复内容做到依据充分、程序合法。",
    "进一步畅通依申请公开渠道，公开申请受理机构、地址、电话和网上申请方式，方便申请人提出申请。",
    "{review_sentence}",
)

MANAGEMENT = (
    "（三）政府信息管理。严格落实政府信息公开保密审查制度，坚持“先审查、后公开”和“一事一审”原则，全年未发生泄密事件。",
    "对本{self}制发的行政规范性文件开展清理，动态更新政策文件库，确保公开的政策文件真实、准确、有效。",
    "做好个人隐私等信息的保护，对公开内容中涉及的个人信息进行去标识化处理，防止公开不当。",
    "建立信息发布协调机制，涉及其他单位的政府信息，发布前与有关单位沟通确认，确保发布信息准确一致。",
)

PLATFORM = (
    "（四）平台建设。持续优化政府网站信息公开专栏，全年更新栏目内容{n_updates}次，确保信息发布及时、准确、规范。",
    "用好“{wechat}”政务微信公众号等新媒体平台，全年发布信息{n_wechat}条，扩大政策信息传播覆盖面。",
    "依托政务服务大厅设置政府信息公开查阅点，配备查阅设备和专人服务，为群众查阅信息提供便利。",
    "对网站栏目进行全面梳理，整合内容重复、更新缓慢的栏目{n_merge}个，提升网站集约化水平。",
)

OVERSIGHT = (
    "（五）监督保障。成立由主要负责同志任组长的政务公开工作领导小组，明确{n_staff}名工作人员具体负责信息公开日常工作。",
    "组织开展政务公开业务培训{n_train}次，参训{n_trainees}人次，不断提升工作人员业务能力。",
    "将政务公开工作纳入年度绩效考核，全年未发生因政府信息公开工作引发的责任追究情况。",
    "畅通社会评议渠道，主动接受社会监督，对群众反映的{n_feedback}条意见建议逐一核实整改。",
)

PROBLEMS = (
    "政策解读形式较为单一，图解、视频等群众喜闻乐见的解读形式运用不够",
    "部分栏目信息更新不够及时，{column}栏目存在更新滞后的情况",
    "政务公开工作人员多为兼职，人员变动较频繁，业务能力有待进一步提升",
    "依申请公开答复文书的规范性有待加强，个别答复说理不够充分",
    "基层政务公开标准化规范化建设推进不够平衡，公开事项目录有待细化",
    "公众参与渠道不够丰富，政民互动效果有待提升",
    "{focus}领域信息公开的深度和广度不够，公开内容与群众需求还有差距",
    "政务新媒体运营能力不足，原创内容较少，互动回复不够及时",
)

MEASURES = (
    "加强政策解读，综合运用图表图解、音频视频等方式，提高解读的针对性和可读性",
    "建立栏目更新台账，明确责任科室和更新时限，每月开展一次自查",
    "组织开展业务培训，全年不少于{n_train}次，提升工作人员业务水平",
    "对照标准目录逐项完善公开内容，持续推进政务公开标准化规范化",
    "规范依申请公开办理流程，加强答复文书合法性审查，提高答复质量",
    "拓展政民互动渠道，及时回应群众关切，提升公众参与度",
    "聚焦{focus}等重点领域，加大信息公开力度，主动回应社会关切",
    "加强政务新媒体内容建设和日常管理，提升信息发布时效",
)

ORDINALS = "一二三四五六七八"

FEE_NONE = (
    "本年度未收取信息处理费。",
    "{year}年度本{self}未收取政府信息公开信息处理费。",
    "本{self}在办理政府信息公开申请过程中，未收取信息处理费。",
)
FEE_SOME = ("本年度依法收取信息处理费{fee}元，已按规定全额上缴国库。",)
OTHER_MATTERS = (
    "本年度承办人大代表建议{k1}件、政协提案{k2}件，均已按期办结，办复率100%，办理结果已按规定公开。",
    "年度政务公开工作要点确定的各项任务均已按期完成。",
    "按照要求完成了政府网站和政务新媒体季度自查，检查结果已在网站公开。",
)
NO_FEE_MENTION = ("无。", "无其他需要报告的事项。", "本年度无其他需要报告的事项。")


def _fill(template: str, slots: Mapping[str, Any]) -> str:
    return template.format_map(slots)


def _topic(rng: random.Random, bank: tuple[str, ...], k: int) -> list[str]:
    first, rest = bank[0], list(bank[1:])
    rng.shuffle(rest)
    return [first, *rest[: max(0, k - 1)]]


def section1(rng: random.Random, slots: Mapping[str, Any], target: int) -> str:
    """一、总体情况 of about `target` characters, quoting the unit's own figures."""
    banks = (PROACTIVE, ON_REQUEST, MANAGEMENT, PLATFORM, OVERSIGHT)
    per_topic = 1
    text = ""
    while per_topic <= 8:
        parts = [_fill(rng.choice(OPENING), slots)]
        for bank in banks:
            parts += [_fill(s, slots) for s in _topic(rng, bank, per_topic)]
        text = "".join(p for p in parts if p)
        if len(text) >= target:
            break
        per_topic += 1
    if len(text) > target * 1.15:  # trim whole sentences from the end
        sentences = text.split("。")
        while len("。".join(sentences)) > target and len(sentences) > 3:
            sentences.pop(-2)
        text = "。".join(sentences)
    return text


def section5(rng: random.Random, slots: Mapping[str, Any], target: int) -> str:
    """五、存在的主要问题及改进情况: numbered problems, then numbered measures."""
    k = 2
    text = ""
    while k <= len(PROBLEMS):
        problems = rng.sample(PROBLEMS, k)
        measures = rng.sample(MEASURES, k)
        text = (
            f"{slots['year']}年，我{slots['self']}政府信息公开工作取得了一定成效，但仍存在一些问题和不足："
            + "；".join(f"{ORDINALS[i]}是{_fill(p, slots)}" for i, p in enumerate(problems))
            + "。下一步，我们将采取以下措施加以改进："
            + "；".join(f"{ORDINALS[i]}是{_fill(m, slots)}" for i, m in enumerate(measures))
            + "。"
        )
        if len(text) >= target:
            break
        k += 1
    return text


def section6(rng: random.Random, slots: Mapping[str, Any], mention_fee: bool) -> str:
    """六、其他需要报告的事项: the 信息处理费 statement (unless left out on purpose) and other matters."""
    parts: list[str] = []
    if mention_fee:
        parts.append(_fill(rng.choice(FEE_SOME if slots.get("fee") else FEE_NONE), slots))
        if rng.random() < 0.6:
            parts += [_fill(s, slots) for s in rng.sample(OTHER_MATTERS, rng.randint(1, len(OTHER_MATTERS)))]
    elif rng.random() < 0.5:
        parts.append(rng.choice(NO_FEE_MENTION))
    else:
        parts += [_fill(s, slots) for s in rng.sample(OTHER_MATTERS, rng.randint(1, 2))]
    return "".join(parts)


def apps_sentences(new: int, carry: int, done: int, nxt: int, opened: int, part: int, none: int) -> tuple[str, str]:
    """The opening of （二）依申请公开 and the breakdown of results, quoting the table's figures."""
    if not (new or carry):
        return "（二）依申请公开。全年未收到政府信息公开申请，无上年结转申请。", ""
    return (
        f"（二）依申请公开。全年新收政府信息公开申请{new}件，上年结转{carry}件；办结{done}件，结转下年度继续办理{nxt}件。",
        f"在已办结的申请中，予以公开{opened}件，部分公开{part}件，无法提供{none}件，均在法定期限内作出答复。"
        if done
        else "",
    )


def review_sentence(reviews: int, suits: int) -> str:
    if reviews or suits:
        return f"全年因政府信息公开被申请行政复议{reviews}件、提起行政诉讼{suits}件，已依法妥善应对。"
    return "全年未发生因政府信息公开引起的行政复议和行政诉讼案件。"
