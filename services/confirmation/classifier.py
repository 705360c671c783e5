"""What a reply means: yes, no or unclear, in English and Chinese. No I/O.

Precision first: a missed yes costs one follow-up, a false yes closes an unresolved complaint.
So a reply is a yes only when every word the customer newly wrote is recognised as an
affirmation, a courtesy (thanks, a greeting, a sign-off with a name) or, when a "cannot fulfil"
answer is acknowledged, an acknowledgement, and at least one of them affirms. Anything else,
a word we do not know included, leaves it `unclear`; a reply that says the problem remains is
`no`. Before that, cues that may never stand beside a yes (a failure, a condition, the future,
sarcasm, hedging, a threat to escalate, a request, a question) are looked for, so that the
reading can say which rule decided. Every pattern is bounded and the text read is capped, so
the time spent grows linearly with the input at worst.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from services.confirmation.replytext import split_new

# More than this many characters of new words is no short confirmation: a person reads it.
MAX_NEW_WORDS = 2000
# The customer's words come first: a longer body is read only this far, and is read at all
# only when a quoted message or signature begins within it.
MAX_READ = 32 * 1024


class Verdict(StrEnum):
    yes = "yes"
    no = "no"
    unclear = "unclear"
    rejected = "rejected"  # the message was not accepted as an answer; `reason` says why


@dataclass(frozen=True)
class Reading:
    """A verdict and the rule that decided it, with the words that triggered the rule."""

    verdict: Verdict
    rule: str
    words: str = ""


def _cues(*alternatives: str) -> str:
    return "|".join(alternatives)


# Latin words need word boundaries; Chinese has none, so its cues match anywhere.
def _en(*words: str) -> str:
    return rf"(?<![a-z0-9']){'(?:' + '|'.join(words) + ')'}(?![a-z0-9])"


# Idioms that contain a negation but deny nothing; they are read as courtesy.
# Only where the idiom ends its clause: "No problem, all sorted" but not "No problem fixed".
_IDIOMS = re.compile(
    r"(?:"
    + _en(r"no problems?(?: at all)?", r"no worries", r"not a problem", r"no bother")
    + r"(?=\s*(?:$|[,.!;:]))"
    + r"|(?:没问题|沒問題|没关系|沒關係|不客气|不客氣|不用谢|不用謝)"
    + r"(?=\s*(?:$|[,.!;:\uff0c\u3002\uff01\uff1b]|谢|謝|啦|哦))"
    + r")"
)
# "No problem any more" is the fix, though it holds a negation.
_NO_PROBLEM_NOW = re.compile(r"没有?问题了|沒有?問題了")
# The problem denied, not the fix: "no longer an issue", "no more problems", "never been better".
# Read as courtesy (never as a yes by itself), so that they do not reopen the case as a "no".
_PROBLEM_GONE = re.compile(
    _en(
        r"(?:(?:no longer|never)(?: (?:an?|any))?|not (?:an?|any)) "
        r"(?:issue|problem|trouble|concern)s?(?: (?:any ?more|now|at all))?",
        r"no (?:more |further )?(?:issues?|problems?|trouble|concerns?)"
        r"(?: (?:any ?more|now|at all))?",
        r"no further action (?:is )?(?:needed|required)",
        r"never (?:been|felt) better",
    )
    # Only where the phrase ends its clause: "not a problem, sorted", never "not problem solved".
    + r"(?= ?(?:$|[,.!;:]| since))"
)
# Asking us to close the case is a yes, although it says "please".
_CLOSE_IT = re.compile(_en(r"please close (?:it|this|the (?:case|complaint|ticket))"))
_POSITIVE_EN = (
    r"(?:resolved|fixed|sorted|solved|working|works|good|fine|ok|okay|received|done|"
    r"accept(?:ed|able)?|understood|understand|agree|happy|satisfied)"
)
_POSITIVE_ZH = (
    r"(?:解决|解決|好|修复|修復|处理|處理|收到|到账|到賬|行|能用|正常|接受|同意|明白|满意|滿意)"
)
# A denial of the outcome: "not resolved", "far from fixed", "没有解决", "解决了才怪".
_NEGATED = re.compile(
    _en(
        r"not",
        r"never",
        r"no longer",
        r"nowhere near",
        r"far from",
        r"anything but",
        r"hardly",
        r"barely",
        r"(?:is|was|are|were|has|have|had|did|does|do|ca|wo|could|should|would|ai)n'?t",
        r"cannot",
        r"stopped",
        r"stops",
        r"quit",
        r"ceased",
    )
    + rf"(?:\W{{1,3}}[a-z']{{1,15}}){{0,3}}?\W{{1,3}}{_POSITIVE_EN}(?![a-z])"
    + r"|(?:还没有|還沒有|还没|還沒|没有|沒有|并未|並未|无法|無法|没|沒|未|不)"
    + rf"[^\uff0c。,.!\uff01?\uff1f\s]{{0,3}}?{_POSITIVE_ZH}"
    + r"|[^\uff0c。,.!\uff01?\uff1f\s]{0,6}才怪|不是|不对|不對"
)
# The problem is still there, or a new one: with nothing affirmative left this is a `no`.
_REMAINS = re.compile(
    _en(
        r"no",
        r"nope",
        r"nah",
        r"never",
        r"not",
        r"[a-z]+n't",
        r"(?:do|does|did|is|was|are|were|have|has|had|ca|wo|could|would|should|ai)nt",
        r"cannot",
        r"still",
        r"unresolved",
        r"unfixed",
        r"broken",
        r"broke",
        r"breaks?",
        r"stopped",
        r"stops",
        r"fail(?:ed|s|ing|ure)?",
        r"faulty",
        r"worse",
        r"wrong",
        r"nothing",
        r"none",
        r"same (?:problem|issue)",
        r"leak(?:s|ing)?",
        r"error",
        r"missing",
        r"(?:over|double )?charged",
        r"disappointed",
        r"unhappy",
        r"angry",
        r"annoyed",
        r"frustrated",
        r"furious",
        r"upset",
        r"fed up",
        r"useless",
        r"terrible",
        r"awful",
        r"horrible",
        r"disgusted",
        r"disgusting",
        r"ridiculous",
        r"shocking",
        r"appalling",
        r"pathetic",
        r"rubbish",
        r"waste",
        r"unacceptable",
        r"outraged",
        r"livid",
        r"sad",
        r"poor",
        r"bad",
        r"worst",
        r"customer",
        r"client",
    )
    + r"|(?<!working )(?<!works )(?<!running )(?<![a-z])again(?![a-z])"
    + r"|否|不|没|沒|未|无|無|还是|還是|仍|依然|依旧|依舊|照样|照樣|坏|壞|故障|又|失败|失敗|错|錯"
)
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("question", re.compile(r"[?\uff1f]|吗|嗎|呢|么|麼|" + _en(r"why", r"how", r"what", r"who"))),
    (
        "escalation",
        re.compile(
            _en(
                r"ombudsman",
                r"ombudsperson",
                r"lawyers?",
                r"solicitors?",
                r"attorneys?",
                r"legal",
                r"regulators?",
                r"court",
                r"sue",
                r"suing",
                r"small claims",
                r"trading standards",
                r"ofcom",
                r"ofgem",
                r"ofwat",
                r"fca",
                r"cfpb",
                r"ftc",
                r"bbb",
                r"better business bureau",
                r"consumer (?:protection|rights|association|council)",
                r"watchdog",
                r"press",
                r"media",
                r"journalists?",
                r"newspapers?",
                r"twitter",
                r"facebook",
                r"trustpilot",
                r"reviews?",
                r"escalat(?:e|ed|ing|ion)",
                r"report",
                r"further",
                r"chargeback",
                r"police",
                r"authorities",
                r"complain(?:ing)? to",
                r"formal complaint",
            )
            + r"|投诉|投訴|12315|12345|315|媒体|媒體|曝光"
            + r"|律师|律師|起诉|起訴|法院|消协|消協|消费者协会"
            + r"|消費者協會|工商|监管|監管|举报|舉報|差评|差評"
            + r"|报警|報警|微博|抖音|记者|記者|维权|維權"
        ),
    ),
    (
        "sarcasm",
        re.compile(
            _en(
                r"yeah,? right",
                r"yeah,? sure",
                r"oh,? sure",
                r"sure,? sure",
                r"yeah,? yeah",
                r"oh,? great",
                r"oh,? yeah",
                r"oh,? wow",
                r"as if",
                r"what a joke",
                r"joke",
                r"joking",
                r"kidding",
                r"lol",
                r"lmao",
                r"rofl",
                r"ha(?:ha)+",
                r"ha ha",
                r"xd",
                r"smh",
                r"thanks for nothing",
                r"totally",
                r"obviously",
                r"clearly",
                r"apparently",
                r"supposedly",
                r"so-called",
                r"sure",
            )
            + r"|/s\b|[\"\u201c\u201d\u00ab\u00bb\u300c\u300d\u300e\u300f]|(?:^|\s)'[a-z]"
            + r"|好了好了|行了行了|好好好|行行行|是是是|对对对|對對對"
            + r"|呵呵|哈哈|笑死|真行|真棒啊|好一个|好一個|谢谢你们啊|是吗|\U0001f644|\U0001f643"
            + r"|\U0001f60f|\U0001f612|\U0001f611|\U0001f610|\U0001f914|\U0001f923|\U0001f602"
        ),
    ),
    (
        "hedging",
        re.compile(
            _en(
                r"i think",
                r"think",
                r"thinking",
                r"maybe",
                r"perhaps",
                r"probably",
                r"possibly",
                r"might",
                r"may",
                r"seems?",
                r"seemingly",
                r"appears?",
                r"kind of",
                r"sort of",
                r"kinda",
                r"sorta",
                r"guess",
                r"suppose",
                r"supposed",
                r"mostly",
                r"partly",
                r"partially",
                r"part",
                r"almost",
                r"nearly",
                r"somewhat",
                r"more or less",
                r"hopefully",
                r"hope",
                r"unsure",
                r"sure",
                r"believe",
                r"should",
                r"ish",
                r"for now",
                r"for the moment",
                r"so far",
                r"at the moment",
                r"at least",
                r"i assume",
                r"assume",
                r"not really",
                r"yes and no",
                r"half",
                r"some",
                r"sometimes",
                r"roughly",
                r"basically",
                r"temporar(?:y|ily)",
                r"fingers crossed",
            )
            + r"|好像|差不多|应该|應該|可能|也许|也許|大概|似乎|估计|估計|或许|或許|基本|暂时|暫時"
            + r"|目前|貌似|算是|部分|不确定|不確定|还行|還行|凑合"
            + r"|湊合|勉强|勉強|希望|(?<!好)吧|一半|感觉"
            + r"|感覺|\U0001f937|\U0001f615|\U0001f61f"
        ),
    ),
    (
        "condition",
        re.compile(
            _en(
                r"if",
                r"once",
                r"as soon as",
                r"provided",
                r"providing",
                r"assuming",
                r"unless",
                r"when",
                r"whenever",
                r"until",
                r"till",
                r"as long as",
                r"subject to",
                r"depending",
                r"depends",
                r"after",
            )
            + r"|如果|要是|假如|只要|等到|一旦|前提|的话|的話|除非|之后|之後|以后|以後|等"
        ),
    ),
    (
        "future",
        re.compile(
            _en(
                r"will",
                r"[a-z]+'ll",
                r"going to",
                r"gonna",
                r"shall",
                r"tomorrow",
                r"tonight",
                r"next",
                r"later",
                r"soon",
                r"yet",
                r"check(?:ing|s)?",
                r"verify",
                r"confirm later",
                r"let you know",
                r"get back",
                r"wait(?:ing)?",
                r"pending",
                r"expect(?:ing)?",
                r"test(?:ing)?",
                r"try(?:ing)?",
                r"see (?:if|how|whether)",
            )
            + r"|将|將|会|會|明天|下周|下週|下星期|再看|看看|观察|觀察|过几天|過幾天|回头|回頭|稍后"
            + r"|稍後|确认一下|確認一下|检查|檢查|试试|試試|等等|还要|還要"
        ),
    ),
    (
        "request",
        re.compile(
            _en(
                r"please",
                r"pls",
                r"plz",
                r"kindly",
                r"can you",
                r"could you",
                r"would you",
                r"can i",
                r"could i",
                r"need",
                r"needs",
                r"want",
                r"wants",
                r"would like",
                r"i'd like",
                r"send",
                r"call me",
                r"ring me",
                r"contact me",
                r"email me",
                r"come back",
                r"come out",
                r"also",
                r"too",
                r"as well",
                r"another",
                r"more",
                r"other",
                r"else",
                r"except",
                r"apart from",
                r"besides",
                r"only",
                r"just",
                r"but",
                r"however",
                r"although",
                r"though",
                r"though",
                r"yet",
                r"new",
                r"refund me",
                r"compensat(?:e|ion)",
                r"reimburse",
            )
            + r"|请|請|麻烦|麻煩|能不能|能否|可不可以|帮我|幫我|需要|要求|想要|再|派|联系我|聯繫我"
            + r"|打电话|打電話|回电|回電|但是|但|不过|不過|可是|只是|除了|另外|还有|還有|别的|別的"
            + r"|其他|其它|新的|也|退钱|退錢|赔偿|賠償"
        ),
    ),
]
_RULES_BY_NAME = dict(_RULES)
_YES_WORDS = re.compile(
    _en(
        r"y+e+s+",
        r"yeah?",
        r"yep",
        r"yup",
        r"resolved",
        r"fixed",
        r"sorted",
        r"solved",
        r"working",
        r"works",
        r"all good",
        r"confirm(?:ed)?",
    )
    + r"|(?<![还還但可])是|对|對|解决|解決|好了|修好|搞定|正常"
)

_SEPARATORS = re.compile(r"[\s,.!;:\u2026~\-\u2013\u2014\uff0c\u3002\uff01\uff1b\uff1a\u3001]+")
_PIECE_END = r"(?![a-z0-9'])"
_SUBJECT = (
    r"(?:it|this|that|everything|all|all of it|the (?:issue|problem|matter|complaint|case|fault)"
    r"|my (?:issue|problem|complaint|case))"
)
_DONE = (
    r"(?:resolved|resloved|resovled|reslved|resolvd|fixed|fxed|fixd|fiexd|sorted(?: out)?|sortd"
    r"|solved|settled|taken care of|dealt with)"
)
_THINGS = (
    r"(?:refund|money|replacement|parcel|package|credit|compensation|voucher|cheque|"
    r"item|order|card)"
)
# What can be "working again": things, never people ("the engineer is working" is no fix).
_DEVICES = (
    r"(?:heating|central heating|boiler|heater|radiators?|hot water|water|shower|taps?|toilet"
    r"|internet|wifi|wi-fi|broadband|connection|line|landline|phone|mobile|signal|network|data"
    r"|router|modem|tv|television|tv box|remote|app|website|site|portal|login|account|email"
    r"|card|meter|smart meter|power|electricity|gas|lights?|fridge|freezer|washing machine"
    r"|washer|dryer|dishwasher|oven|cooker|hob|microwave|aircon|air conditioning|lift|elevator"
    r"|door|lock|gate|alarm|laptop|computer|printer|tablet|charger|car|engine|sim|service"
    r"|system|device|machine)"
)
_YES_EN = r"(?:y+e+s+|yeah?|yep+|yup+|yse|ys|absolutely|definitely|indeed|correct|affirmative)"
_ZH_DONE = r"(?:已|已经|已經|都)?(?:解决|解決|处理|處理|修好|弄好|搞定|好)了?"
_AFFIRM_EN = re.compile(
    r"(?:"
    + rf"{_YES_EN}(?: (?:it is now|it has been|it is|it has|it's|indeed))?"
    + rf"|(?:{_SUBJECT} ?(?:is|'s|s|'s been|has been|have been|got|are|'re) )?(?:now )?"
    + rf"(?:all |fully |completely |totally |finally )?{_DONE}(?: now)?(?: (?:it|this))?"
    + rf"|(?:(?:the )?(?:issue|problem|matter|complaint|case) )(?:is |has been )?{_DONE}"
    + rf"|(?:it|everything|all|things?|(?:the|my|our) (?:{_DEVICES})) "
    + r"(?:is |'s |are |'re )?(?:now )?(?:working|works|runs|running)"
    + r"(?: (?:now|again|fine|perfectly|great|well|properly|normally|as it should))*"
    + r"|(?:all )?(?:working|works)(?: (?:now|again|fine|perfectly|properly))?"
    + rf"|(?:i )?(?:have |'ve )?(?:received|recieved|recived) (?:it|them|(?:the |my )?{_THINGS})"
    + r"(?: now| today)?"
    + rf"|(?:i )?(?:have |'ve )?(?:got|gotten) (?:the |my ){_THINGS}(?: back)?(?: now| today)?"
    + rf"|(?:the |my )?{_THINGS} (?:has |have )?(?:arrived|received|came through|come through|"
    + r"landed|went through|gone through|is in|is back|credited)"
    + rf"|{_THINGS} received"
    + r"|(?:all|everything(?: is)?|everything's|we're|we are|it's all|its all|it is all) "
    + r"(?:good|fine|sorted|set|perfect|great)(?: now)?"
    + r"|all (?:good|fine|sorted|set|resolved|fixed|working)(?: now)?"
    + r"|(?:i am|i'm|im) (?:happy|satisfied|pleased|very happy|very satisfied)"
    + r"(?: (?:with (?:it|this|that|the (?:outcome|result|resolution|fix|solution))|now))?"
    + r"|(?:i )?(?:can )?confirm(?:ed)?(?: (?:it is|it's"
    + r"|it has been|that it is) (?:resolved|fixed))?"
    + r"|problem solved|issue resolved|issue fixed|case closed"
    + r"|(?:you can |feel free to |please )?close (?:it|this|the (?:case|complaint|ticket))"
    + r"(?: now)?"
    + r"|thanks? (?:you )?(?:so much |very much )?for (?:fixing|sorting|resolving|solving) "
    + r"(?:it|this|that|the (?:issue|problem))(?: out)?"
    + r")"
    + _PIECE_END
)
_AFFIRM_ZH = re.compile(
    r"(?:是的|是|对的|對的|对|對|确认|確認|确定|確定)?"
    r"(?:问题|問題|事情|都|确认|確認)?"
    rf"(?:{_ZH_DONE}|已|已经|已經)?"
    r"(?:解决了|解決了|解决|解決|修好了|修复了|修復了|修复|修復|修好|弄好了|搞定了|搞定|好了|没问题了|沒問題了"
    r"|没有问题了|沒有問題了|可以了|正常了|恢复正常了|恢復正常了|能用了|可以用了|好用了"
    r"|收到退款了|退款收到了|退款已收到|退款到了|退款到账了|退款到賬了|钱收到了|錢收到了"
    r"|钱到账了|錢到賬了|已收到退款|收到钱了|收到錢了|满意|滿意|很满意|很滿意|非常满意|非常滿意"
    r"|是的|是|对的|對的)"
)
_THUMBS = r"(?:\U0001f44d|\U0001f44c|\u2705|\u2714\ufe0f?|\u2611\ufe0f?)(?:\U0001f3fb|\U0001f3fc|\U0001f3fd|\U0001f3fe|\U0001f3ff)?"  # noqa: E501
_COURTESY = re.compile(
    r"(?:"
    + r"thanks? (?:you+ )?(?:so much |very much )?(?:for|to) (?:your|the|all (?:your|the)) "
    + r"(?:help|support|assistance|quick (?:response|reply|fix)|work|patience|team|effort|efforts)"
    + r"|thanks?(?: (?:you+|u+))?(?: (?:so|very) much| a lot| a million| again| heaps| loads)?"
    + r"|many thanks|thanks? (?:you+ )?(?:all|everyone|team)"
    + r"|thx|thanx|thnx|thnks|tks|ty|tysm|cheers|ta|much appreciated|appreciated"
    + r"|(?:i )?appreciate (?:it|that|your help|the help)"
    + r"|great(?: job| work| service| stuff)?|good job|well done|brilliant|excellent|perfect"
    + r"|wonderful|awesome|fantastic|lovely|nice|nice one|super|amazing|cool|splendid|marvellous"
    + r"|(?:have a )?(?:nice|good|great|lovely) (?:day|weekend|evening|week)"
    + r"|(?:best |kind |warm |many )?regards|best wishes|all the best|best|sincerely"
    + r"|yours (?:sincerely|faithfully|truly)|bye|goodbye"
    + r"|hi|hello|hey|hi there|hello there|dear|dear (?:team|sir|madam|sir or madam|all|support)"
    + r"|good (?:morning|afternoon|evening)|noproblem"
    + r")"
    + _PIECE_END
    + r"|(?:谢谢|謝謝|多谢|多謝|感谢|感謝|非常感谢|非常感謝|十分感谢|十分感謝|太感谢了|太感謝了"
    + r"|谢啦|謝啦|谢了|謝了|辛苦了|辛苦你们了|辛苦你們了|您好"
    + r"|你好|太好了|好棒|棒|赞|讚|没问题|沒問題"
    + r"|没关系|沒關係|不客气|不客氣)(?:你们|你們|您|你|大家)?"
    + r"(?:的帮助|的幫助|的支持)?(?:了|啦|哦|呀|啊)?"
    + r"|[\U0001f64f\U0001f60a\U0001f642\U0001f600\U0001f603\U0001f604\U0001f601\u2764\ufe0f"
    + r"\U0001f495\U0001f389\U0001f44f\U0001f970\u263a\U0001f607\U0001f31f\u2b50\u2728]"
)
# An acknowledgement of a "cannot fulfil" answer: the customer has read it.
_ACKNOWLEDGE = re.compile(
    r"(?:"
    + r"ok|okay|okey|oki|k|kk|alright|all right|fine|understood|understand|i understand|i see"
    + r"|noted|got it|gotcha|acknowledged|i acknowledge|fair enough|makes sense|that's fine"
    + r"|that is fine|that's ok|that's okay|that is ok|i accept|accepted|accept"
    + r"|thanks? (?:you )?for (?:letting me know|the (?:explanation|update|information|info|answer|"
    + r"reply|response|clarification)|explaining|clarifying)"
    + r"|read it|have read it|i have read it|i've read it"
    + r")"
    + _PIECE_END
    + r"|(?:我|我已经|我已經)?(?:收到了?|知道了|明白了?|了解了?|理解了?)"
    + r"|好的|好吧|好滴|行|可以|嗯+|懂了|清楚了|接受"
    + r"|"
    + _THUMBS
)
# Emoji and a courteous "ok" are filler beside an affirmation in either mode.
_FILLER = re.compile(
    r"(?:ok|okay|alright|great|good|and|&)(?![a-z0-9'])|嗯+|好的|哦|啊|呀|和|" + _THUMBS
)
# The code the customer copies from our message ("YES #K7Q2XA") and the case reference say
# nothing. The same alphabet and lengths as `domain` (which imports this module), tested
# equal there; a hashtag like "#notfixed" is not stripped, so it stays an unknown word.
TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOKEN_LENGTHS = (6, 14)
_TOKEN = re.compile(
    rf"#((?:[{TOKEN_ALPHABET}]{{{TOKEN_LENGTHS[0]}}}|[{TOKEN_ALPHABET}]{{{TOKEN_LENGTHS[1]}}}))"
    r"(?![A-Za-z0-9])|\bCMP-[A-Z0-9]{8}\b",
    re.IGNORECASE,
)


def _without_code(match: re.Match[str]) -> str:
    code = match.group(1)
    # A typed word ("#hatred") is no code: codes carry a digit or are copied in capitals.
    if code is None or code.isupper() or any(c.isdigit() for c in code):
        return " "
    return match.group(0)


_SIGNED_NAME = re.compile(
    r"(?i:thanks|thank you|regards|cheers|best|sincerely|faithfully|truly|wishes|谢谢|謝謝)"
    r"[ \t,.!]*"
    r"(?:\n[ \t]*)?[-\u2013\u2014~]?[ \t]*"
    r"([A-Z][a-z]{1,20}(?:[ \t]+[A-Z][a-z]{1,20}){0,2})[ \t.!]*\Z"
)
_GREETING_NAME = re.compile(
    r"\A[ \t]*(?i:hi|hello|hey|dear)[ \t]+([A-Z][a-z]{1,20}(?:[ \t]+[A-Z][a-z]{1,20}){0,2})"
    r"[ \t]*[,!\n]"
)


# Words that sign like a name ("Whatever", "Sarcastically Yours") but say something.
_NOT_NAMES = re.compile(
    _en(
        r"[a-z]*(?:ally|ously|ed|ing|less|ful|ous|ness|ever|able|ible|ish)",
        r"yours",
        r"really",
        r"anyway",
        r"anyways",
        r"meh",
        r"ugh",
        r"sigh",
        r"wow",
        r"hmm+",
        r"oh",
        r"fine",
        r"okay",
        r"nobody",
        r"someone",
        r"seriously",
        r"honestly",
        r"actually",
        r"thanks",
        r"great",
        r"well",
        r"bye",
        r"see",
        r"later",
        r"again",
        r"cheers",
        r"sorry",
        r"sadly",
        r"alas",
    )
)


def _has_cue(words: str) -> bool:
    clean = words.casefold()
    return bool(
        _NOT_NAMES.search(clean)
        or _NEGATED.search(clean)
        or _REMAINS.search(clean)
        or any(pattern.search(clean) for _, pattern in _RULES)
    )


def _without_names(text: str) -> str:
    """Drop a name signed after a courtesy ("Thanks, Ana") or greeted ("Hi Maria,")."""
    tail = len(text) - 120 if len(text) > 120 else 0
    signed = _SIGNED_NAME.search(text, tail)
    if signed and not _has_cue(signed.group(1)):
        text = text[: signed.start(1)] + text[signed.end(1) :]
    greeted = _GREETING_NAME.match(text)
    if greeted and not _has_cue(greeted.group(1)):
        text = text[: greeted.start(1)] + text[greeted.end(1) :]
    return text


def _normalised(text: str) -> str:
    text = _TOKEN.sub(_without_code, unicodedata.normalize("NFKC", text))
    text = re.sub(r"[\u2018\u2019\u02bc\u00b4`]", "'", text).casefold()
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)  # "yesss", "thankssss"
    return re.sub(r"\s+", " ", text).strip()


def _pieces(clean: str, acknowledging: bool) -> tuple[bool, str]:
    """Whether every word is a recognised piece with at least one affirmation, or the first
    word that is not. Greedy longest match, no backtracking: linear in the text."""
    kinds: list[tuple[str, re.Pattern[str]]] = [
        ("affirm", _AFFIRM_EN),
        ("affirm", _AFFIRM_ZH),
        ("ack", _ACKNOWLEDGE),
        ("courtesy", _COURTESY),
        ("filler", _FILLER),
    ]
    position, affirmed = 0, False
    while True:
        gap = _SEPARATORS.match(clean, position)
        if gap:
            position = gap.end()
        if position >= len(clean):
            return affirmed, ""
        best: tuple[int, str] = (position, "")
        for kind, pattern in kinds:
            match = pattern.match(clean, position)
            if match is None or match.end() <= best[0]:
                continue
            best = (match.end(), kind)
        end, kind = best
        if not kind:
            return False, clean[position : position + 40]
        affirmed = affirmed or kind == "affirm" or (acknowledging and kind == "ack")
        position = end


def read_reply(text: str, acknowledging: bool = False) -> Reading:
    """Yes, no or unclear, and the rule that decided. Never guesses yes.

    `acknowledging` reads the answer to a "cannot fulfil" message, where "ok" or "收到" is the
    customer's acknowledgement and therefore a yes.
    """
    words, ended = split_new(text[:MAX_READ])
    if len(words) > MAX_NEW_WORDS or (len(text) > MAX_READ and not ended):
        # Past what is read the customer may have gone on writing.
        return Reading(Verdict.unclear, "too_long", words[:40])
    clean = _normalised(_without_names(words))
    if not _SEPARATORS.sub("", clean):
        return Reading(Verdict.unclear, "empty")
    masked = _NO_PROBLEM_NOW.sub("已好了", clean)
    masked = _PROBLEM_GONE.sub(" noproblem ", masked)
    masked = _CLOSE_IT.sub("close it", _IDIOMS.sub(" noproblem ", masked))
    denial = _NEGATED.search(masked)
    rest = _NEGATED.sub(" ", masked)
    remains = denial or _REMAINS.search(rest)
    blocking = [(rule, m) for rule, pattern in _RULES if (m := pattern.search(masked))]
    doubtful = [r for r, _ in blocking if r in ("question", "sarcasm", "hedging", "condition")]
    # "I haven't checked yet" has not answered; "not yet fixed" and "still waiting" have.
    later = _RULES_BY_NAME["future"].search(rest)
    if later and not later.group(0).startswith("wait"):
        doubtful.append("future")
    positive = _YES_WORDS.search(rest) or (acknowledging and _ACKNOWLEDGE.search(rest))
    if remains and not positive and not doubtful:
        return Reading(Verdict.no, "problem_remains", remains.group(0).strip())
    if blocking:
        rule, match = blocking[0]
        return Reading(Verdict.unclear, rule, match.group(0).strip())
    if remains:
        return Reading(Verdict.unclear, "failure_beside_yes", remains.group(0).strip())
    affirmed, unknown = _pieces(masked, acknowledging)
    if unknown:
        return Reading(Verdict.unclear, "unrecognised_words", unknown)
    if not affirmed:
        return Reading(Verdict.unclear, "no_affirmation")
    return Reading(Verdict.yes, "acknowledgement" if acknowledging else "affirmation")


def classify_reply(text: str, acknowledging: bool = False) -> Verdict:
    return read_reply(text, acknowledging).verdict


def doubts(text: str) -> bool:
    clean = _normalised(text)
    return any(_RULES_BY_NAME[rule].search(clean) for rule in ("hedging", "sarcasm", "condition"))


def denies(text: str) -> bool:
    """Any negation in the customer's words ("还没收到", "not yet"), whatever else they say."""
    clean = _IDIOMS.sub(" ", _normalised(text))
    return bool(_NEGATED.search(clean) or _REMAINS.search(clean))


def asks(text: str) -> bool:
    return bool(_RULES_BY_NAME["question"].search(_normalised(text)))


def explain_meaning(text: str, choice: Verdict | None, acknowledging: bool) -> Reading:
    """A typed reply is read; a button (the page, an attestation) can only be made less sure.

    A "yes" button stays yes with no comment, or one that is only courtesy or affirms; any
    other comment (a doubt, a failure, words we cannot read) makes it `unclear`.
    """
    if choice is None:
        return read_reply(text, acknowledging)
    if choice != Verdict.yes:
        return Reading(choice, "button")
    if not text.strip():
        return Reading(Verdict.yes, "button")
    said = read_reply(text, acknowledging)
    if said.verdict == Verdict.yes or said.rule in ("no_affirmation", "empty"):
        return Reading(Verdict.yes, "button")
    return Reading(Verdict.unclear, f"button_comment_{said.rule}", said.words)


def meaning(text: str, choice: Verdict | None, acknowledging: bool) -> Verdict:
    return explain_meaning(text, choice, acknowledging).verdict
