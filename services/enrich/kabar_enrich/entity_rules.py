"""Entity spans as a newsroom reads them: rules applied to what the recogniser found.

The statistical tagger (``entities.EntityRecognizer``) sees one sentence at a time and knows
no names; these rules add what an editor knows, from the name tables (``canonical.NameTable``:
countries, large cities, agencies, media, apps, ministries) and from the rest of the article:

1. **Furniture.** A span without a capital letter or a digit, unless an outlet written so
   ("detikcom"), is dropped ("kota" tagged a place). A name inside a photo credit ("(Foto:
   Kemlu Rusia via Reuters)", "(unsplash.com/Micha Brändli)") is the page's, not the story's:
   it is dropped, and so is a day of the week or a month ("Khamis", Malay for Thursday, and
   "Julai" tagged a person).
2. **Boundaries.** A span is cut at a line break, at a question or exclamation mark that ends a
   sentence ("Greece?” Penyokong") and at a double or em dash (a dateline's "CNN Indonesia - -
   T.O.P"); at a single spaced dash after a site or a city in capitals
   ("Suara.com - KPK", "KUALA LUMPUR - Tim ...") or between two places ("Rusia - Ukraina");
   at a glued token whose halves are both known names ("KorutRusia", text run together by a
   scraper); at a lower-case word no name holds, one news writes only in lower case ("BlackBerry
   Motion dengan Android", "Bayer Leverkusen vs Hoffenheim"; not "Kementerian Pemuda dan
   Olahraga"); where a known place meets a person ("Korea Utara Kim Jong Un", "Dewan Keamanan
   Rusia Sergei Shoigu"); between two known places in a place's span ("Kursk Rusia"; an
   organisation's stays whole: "California Texas", the oil company). "Pemerintahan Kim Jong
   Un" gives the person the article names. An organisation followed by "(Abbreviation)
   Country" takes both in ("Kementerian Luar Negeri (Kemlu) Rusia"), and a bracket the name
   opened is closed ("Komisi Pemberantasan Korupsi (KPK" tagged short of its ")"). An
   abbreviated title at a span's end is dropped ("Georgia Gov. Brian Kemp" tagged "Georgia
   Gov"), and so are an office, a form of address or a rank before a person's name ("Dubes
   Hasan Kleib", "Pak Harto", "Kapolda Jateng Irjen Pol Condro Kirono"), but not a royal title
   ("Pangeran Diponegoro"); so is an institution's last word ("Academy John Bailey"). A rank
   ending a place's span is the next person's ("Simpang Kramat Ipda"), and one opening a span
   makes it a person ("Aiptu Sutisna" tagged an organisation), and a police rank inside one starts
   a person's name ("Jakarta Selatan Kombes Mardiaz Kusin Dwihananto"). An abbreviated office is
   no one: its unit is an organisation or a place, and its holder the person after it ("Kabid
   Humas Polda Metro Jaya Kombes Argo Yuwono": Polda Metro Jaya, Argo Yuwono; "Menpora Imam
   Nahrawi": Imam Nahrawi; "Kabid Humas" alone: nothing), and so is a company's office: its company is an
   organisation and the holder a person ("CEO Go-Jek Nadiem Makarim"). A Balinese name keeps its "I" or
   "Ni" ("I Made Mudharta"). Inside a sentence, a capitalised "The" before an organisation or a
   work is part of its name ("told The Sunday Times"); a lower-case "the" never is ("the
   Netherlands").
3. **Missed people.** A title, then capitalised words ending in a country, then two to four
   more capitalised words is a person ("Sekretaris Dewan Keamanan Rusia Sergei Shoigu").
4. **Types.** Agencies, media and apps are organisations ("Anadolu Agency", "Yonhap",
   "Telegram"), and so are the institutions the press names by their seat ("Kremlin",
   "Pentagon"), a name ending in an outlet's word ("… Times", "… TV"), a site
   ("DailySocial.id"), and a person or a work holding an institution's word ("Clinical
   Hospital Mostar", "Bulgarian Academy of Sciences"), and so is a sports club ("Real Madrid", "AS Roma",
   "Tottenham Hotspur" tagged a place). A name the article tags as a person
   elsewhere is a person, never a place ("Vladimir Putin"); a one-word place name it tags as a
   place elsewhere, and which is no part of a person's name there, is a place ("Pyongjang", a
   misspelt Pyongyang, tagged once as a person). An English adjective of nationality is MISC
   ("Ukrainian" tagged a place). A governing body's name is an organisation whatever place it
   holds ("Parlimen Wales", "Kementerian Luar Negeri Rusia" tagged a place), and a country or a
   street tagged a person is a place ("Macedonia", "Evelyn Street"), unless the article gives a
   name it is part of ("Jordan", after "Michael Jordan").

Each rule looks at a few tokens around a span, so the cost is a small fraction of tagging.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from kabar_enrich.canonical import (
    BALINESE_BIRTH_ORDER,
    COMPANY_LAST_WORDS,
    INSTITUTION_KIND,
    INSTITUTION_WORDS,
    MALAYSIAN_HONOURS,
    MINISTRY_KIND,
    NAME_PARTICLES,
    ORGANISATION_KINDS,
    ORGANISATION_WORDS,
    REGENCY_KIND,
    SUBDIVISION_KIND,
    NameTable,
    city_as_given_name,
    common_given_names,
    name_key,
    word_list,
)
from kabar_enrich.entities import DEFAULT_MODEL_DIR, MAX_CHARS, EntitySpan
from kabar_enrich.loader import shared
from kabar_enrich.ner_features import GAZETTEER_FILE, lexicon_file, read_lines

__all__ = ["refine"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that stand before a person's name in Indonesian, Malay and English news.
TITLES = _words("""
    presiden wapres menteri menlu menhan mendagri menkeu perdana pm sekretaris sekjen ketua wakil pemimpin
    gubernur bupati walikota camat lurah rektor dekan direktur dirut kepala panglima jenderal jendral kanselir kaisar
    raja ratu pangeran duta dubes juru jubir pelatih kapten komandan marsekal laksamana senator diktator
    sultan datuk dato tan sri tun president minister secretary chancellor governor mayor leader
    chairman director general admiral ambassador spokesman spokeswoman envoy king queen prince congressman
    congresswoman
    gabenor timbalan naib setiausaha pengerusi jurucakap canselor jeneral jurulatih pensyarah pengarah
""")
# Words after which idner-news-2k leaves a country untagged, besides the offices of TITLES: a people, a state's
# bodies, its goods or money ("rakyat Indonesia", "militer Israel", "produk China", "dolar AS").
_COUNTRY_MODIFIES = TITLES | _words("""
    besar rakyat warga masyarakat pemerintah militer tentara pasukan produk bangsa negara kontingen timnas turis
    wisatawan bank orang pihak se dolar
""")
# Words for a player before the club's or country's name and the player's ("pemain Liverpool Alisson Becker"): not
# offices, so not TITLES, which also say where idner-news-2k leaves a country untagged.
PLAYER_WORDS = _words("""
    pemain penyerang striker bek kiper gelandang pebalap pembalap petenis pegolf pebulutangkis pesepakbola atlet
    penjaga player defender midfielder goalkeeper winger forward rider driver
""")
# Words for a team's coach or manager, which the club's name and then the coach's follow like a player's ("pelatih
# Barcelona Luis Enrique", "Bos Sunderland Jack Ross"). Not Indonesian "pengurus" (a party's board, "pengurus DPD").
COACH_WORDS = _words("pelatih jurulatih bos manajer coach manager boss")
_TEAM_NICKNAME_WORDS = 2
_MAX_BRAND_WORDS = 3  # "Lockheed Martin", "Berkshire Hathaway", "Saudi Aramco", "Sinar Mas"
_ONE_WORD_MAJORITY = 2  # how many times as often a one-word name must be an organisation as a person to be one
# Plural words of places' names, not teams' nicknames ("Chicago Heights", "Florida Keys", "Idaho Falls")
_PLURAL_PLACE_WORDS = _words("""
    heights falls springs hills islands isles keys rapids lakes mountains highlands plains woods gardens banks sands
    downs flats fields shoals narrows pines oaks palms meadows forks bluffs beaches mills creeks harbors harbours glades
    estates acres towers terraces lands grounds gates bays
""")
_NAMED_AFTER_A_DAY = frozenset({"pasar", "sheffield", "pekan"})  # Pasar Minggu, Sheffield Wednesday
_PLACE_GOES_ON = frozenset({"Saint", "St", "St.", "San", "Santa", "Sankt", "Santo"})
GENERAL_OFFICES = _words("setiausaha sekretaris jaksa")  # "Setiausaha Agung", "Jaksa Agung": general, attorney
_TWO_WORD_AREA_OFFICES = (["wali", "kota"], ["menteri", "besar"], ["ketua", "menteri"], ["ahli", "parlimen"])
# Chinese surnames as Malaysia, Singapore, Hong Kong and Taiwan romanise them (Hokkien, Cantonese, Hakka, Teochew,
# Wade-Giles), the press's commonest: for _with_chinese_names. Not "Teh", Indonesian for tea ("Teh Botol Sosro").
CHINESE_SURNAMES = _words("""
    Tan Lim Lee Ng Ong Wong Goh Chua Chan Koh Teo Ang Yeo Tay Ho Low Toh Sim Chong Chia Seah Foo Yap Leong Lau Loh Khoo
    Cheong Chew Chin Liew Liow Loke Yeoh Ooi Soh Pang Phang Kok Lai Lam Leow Ling Lui Mah Mok Neo Quek Soo Tang Tey
    Ting Wee Woo Yong Yew Yip Chai Choo Choong Fong Gan Heng Hew Kam Kee Kuan Kwan Liang Liu Nga Ngeh Nyam Siow Tiong
    Voon Yii Tsai Hsu Chiang Chou Chu Kuo Huang Cheng Chang Wang Chen Hung Kao Ma Lu Yu Su Hu
""")
# Offices that govern an area, whose name comes between the office and the holder's ("Bupati Kutai Timur Isran Noor").
AREA_OFFICES = _words("gubernur gabenor wagub bupati wabup walikota camat lurah presiden")
# Offices, which come and go, unlike the royal and honorific titles of TITLES that are part of a name.
OFFICE_TITLES = TITLES - _words("pangeran sultan raja ratu kaisar datuk dato tan sri tun king queen prince")
DEPUTY_WORDS = _words("vice deputy wakil timbalan naib")
# Days of the week (Indonesian, Malay, English): never an entity ("Khamis" tagged a person).
WEEKDAYS = _words("""
    senin selasa rabu kamis jumat sabtu minggu isnin khamis jumaat ahad monday tuesday wednesday thursday friday
    saturday sunday
""")
# The first word of a governing body's name, which is an organisation, not the place it governs ("Parlimen Wales").
# Not a university's, a school's or a hospital's: NERGrit tags those as places; nor a court's ("Pengadilan Tipikor"),
# a place as often as an organisation in idner-news-2k and NERGrit.
GOVERNING_BODY_WORDS = _words("""
    kementerian dewan komisi parlemen parlimen suruhanjaya majlis jawatankuasa kongres senat mahkamah kejaksaan
    kepolisian ministry parliament council commission congress senate
""")
# The first word of a Malaysian body's name, which Malay writes as a description: "Jabatan Bomba dan Penyelamat
# Malaysia", "Suruhanjaya Pencegahan Rasuah Malaysia", "Kesatuan Eropah". The Indonesian recogniser, trained on no
# Malay, passes most by: in the Malay sentences of TICO-19, TALPCo, FLORES-200 and NTREX-128, 75 of 227 such names
# got no entity and many more only their place ("Malaysia") or a "person" ("Olimpik Antarabangsa").
MALAY_BODY_OPENERS = _words("""
    jabatan suruhanjaya majlis perbadanan lembaga jawatankuasa persatuan kesatuan dewan polis kementerian parti
    pertubuhan agensi angkatan tabung badan mahkamah
""")
# After "dan", one of these starts another body or centre ("Pertubuhan Kesihatan Sedunia dan Pusat Kawalan ...").
_SECOND_BODY_OPENERS = MALAY_BODY_OPENERS | _words("pusat institut universiti bank syarikat")
_MALAY_NAME_JOINERS = _words("dan")
_MALAY_BODY_MAX_WORDS = 9
# Kinds of place in the name tables whose names are seldom people's: not cities or US states.
ABOVE_CITIES = frozenset({"country", "country-alias", "region", SUBDIVISION_KIND})
_GOVERNED_AREAS = ABOVE_CITIES | {REGENCY_KIND}
# The last or first word of a place's English name: a street, a facility, a feature of the land. Not those that
# are also surnames ("Lane", "Park", "Hall", "Bay", "Lake", "Church", "Tower": Diane Lane, Michael Bay), as a last
# word. Wikigold dev: 6 places tagged people ("Davis Gym", "Clarence Dock", "Circuit Zandvoort"), 0 people lost.
PLACE_LAST_WORDS = _words("""
street road avenue boulevard highway square gym dock docks corner harbor harbour station airport stadium arena
valley canal peninsula strait county island islands
""")
# ... and of an Indonesian or Malay name of a feature of the land or water ("Tasik Onega", "Gunung Kidul").
PLACE_FIRST_WORDS = _words("mount lake fort cape circuit tasik danau gunung sungai teluk selat lautan")
# The first word of an event's Malay or Indonesian name ("Sukan Olimpik", "Piala Dunia", "Kejohanan Dunia"): the
# Indonesian corpora, whose conventions Indonesian and Malay text follow, leave events untagged (their training
# files: "Piala" outside any entity 44 times of 44, "Olimpiade" 3 of 3).
EVENT_FIRST_WORDS = _words("piala kejohanan kejuaraan temasya olimpiade")
MALAY_EVENT_FIRST_WORDS = EVENT_FIRST_WORDS | _words("sukan")  # in Indonesian a name: "Sukan Makmuri"
# The directions that go on a place's name ("Jakarta Utara", "Halmahera Timur", "Sulawesi Tenggara").
COMPASS_WORDS = _words("utara selatan timur barat tengah tenggara barat daya laut")
# Indonesian and Malay words for a kind of place, which stand beside its name ("Kota Bogor", "Bekasi Kota").
PLACE_KIND_WORDS = _words("kota kabupaten provinsi pulau desa kecamatan kelurahan wilayah daerah negeri bandar kampung")
# The first word of a street's Indonesian or Malay name, which is often a person's ("Jalan Tuanku Abdul Rahman").
STREET_OPENERS = _words("jalan jl jln lebuh lebuhraya lorong persiaran")
# The last word of an English name for an event, an award, a chart or a law: MISC, as CoNLL and Wikigold tag them
# ("Reading Festival", "Zandvoort Grand Prix", "National Origins Act"; Wikigold train: 37 of 37 such names). Not
# "Games", a band's or a company's name as often ("Skin Games").
EVENT_LAST_WORDS = _words("""
festival prix cup championship championships open tournament olympics award awards prize trophy chart act war
""")
# An English office named with what it heads, right before a name: "Secretary of State", "Minister of Finance" (an
# office word alone, "President", is ``_titled``'s).
_OFFICE_OF = re.compile(r"\b(?:Secretary|Minister|Chief|Governor|Mayor|Director|Head) of(?: the)? [A-Z]\w+\s+\Z")
# A work's title in quotes, in English: title case, its short words aside ("Time Has Taken Its Toll On You"), where a
# quoted sentence is in sentence case. Wikigold train: 36 of 57 such quotes are MISC, 16 untagged, 5 others.
_QUOTED = re.compile(r"[\"“]\s*([^\"”\n]{3,120}?)\s*[\"”]")
TITLE_CASE_MINOR_WORDS = _words("a an the of in on at to for and or as by with from but nor is are 's n't 're")
# Months (Indonesian, Malay, English), never an entity ("Julai" tagged a person); not those that are also
# given names or surnames (April, Mei, Jun, June, August, Mac).
MONTHS = _words("""
    januari februari maret juni juli agustus oktober desember julai ogos disember january february march july
    september october november december
""")
# Those months, in a date: after a day's number or a word that times it, or before a year ("11 Mac 2020", "awal Mac",
# "sehingga Mac", "June 2019"). Malay news writes "Mac" (March) in nearly every date; FLORES-200 and TICO-19 Malay
# had it as a person 100 times.
NAME_LIKE_MONTHS = _words("april mei jun june august mac")
_DAY_BEFORE = re.compile(r"""(?:\b\d{1,2}|\b(?:bulan|awal|pertengahan|akhir|penghujung|hujung|pada|sejak|sehingga|hingga
                             |sampai|early|mid|late|since|until|month\ of))\s+\Z""", re.IGNORECASE | re.VERBOSE)
_YEAR_AFTER = re.compile(r"\s+\d{2,4}\b")
_DATED = re.compile(r"(?:\w+\s+)?\d{1,2}\s+(\w+)(?:\s+\d{4})?")
_ALL_MONTHS = MONTHS | NAME_LIKE_MONTHS
# Malay function words that IndoSum's lexicon does not know, and no name holds ("Palu iaitu" tagged a place).
MALAY_FUNCTION_WORDS = _words("iaitu ialah kerana bahawa manakala sahaja semalam setakat")
# Lower-case words that join the parts of a name ("Kementerian Pemuda dan Olahraga", "University of California",
# "Minamoto no Yoritomo", "Hotel Baur au Lac").
NAME_JOINERS = _words("""
    dan and of the for on in at de del della di da das do dos du la le les van der den von y e et au bin binti al el
    no ke ibn untuk
""")
# Forms of address, degrees and ranks before a name, which the press writes and the name is without ("Pak Harto",
# "Ny Herawati Boediono", "Jenderal Pol Badrodin Haiti"; idner-news-2k and NERGrit train: 41 of 47 outside the name).
# Not the religious honorifics that are part of how a person is named ("Gus Dur", "KH Ma'ruf Amin"), nor Malay
# "Puan" (Mrs), an Indonesian given name (Puan Maharani). "En" is Malay "Encik" abbreviated ("En Reid").
RANKS = _words("""
    komjen irjen brigjen kombes akbp akp kompol iptu ipda aiptu aipda bripka brigadir briptu bripda letjen mayjen
    kolonel letkol mayor kapten lettu letda serma serka sertu kopda praka pratu prada marsma marsda marsdya laksma
    laksda laksdya komodor
""")
# The police's, written as abbreviations: unlike "Kapten" or "Mayor", never part of a street's or a stadium's name
# ("Jalan Kapten Tendean"), so one inside a place's or an organisation's span starts a person's name.
POLICE_RANKS = _words("komjen irjen brigjen kombes akbp akp kompol iptu ipda aiptu aipda bripka briptu bripda")
# Police ranks as older reports spell them out; only read as a rank after an office ("Kapolsek Taman Sari Komisaris
# Erick Frendriz"), since "Komisaris Utama" is a company's office.
SPELT_OUT_RANKS = _words("komisaris")
# The police's ranks spelt out in full, which end a unit's span only because the person's name follows it.
_SPELT_OUT_RANK_AT_END = re.compile(
    r"\s(?:Ajun\s+Komisaris(?:\s+Besar)?|Komisaris\s+(?:Besar|Jenderal)|(?:Inspektur|Brigadir)\s+Jenderal)"
    r"(?:\s+Polisi)?\Z")  # not "Komisaris" alone: "Dewan Komisaris" is a company's board
OFFICE_RANKS = RANKS | SPELT_OUT_RANKS
HONORIFICS = RANKS | _words("""
    pak bapak bu ibu ny nyonya tuan sdr saudara drs ir ustadz ustaz mr mrs ms encik cik en det insp sgt cpl
""")
# Degrees that stage names keep ("Dr. Dre"): dropped only before a name of two words or more.
DEGREES = _words("dr prof")
# The force after a rank ("Jenderal Pol Badrodin Haiti", "Laksda TNI Amarulla Octavian", "Mayjen TNI (Purn)"),
# which alone may be a name ("Pol Pot").
FORCE_MARKS = _words("pol tni purn laut udara")
# Indonesian offices written as one abbreviated word ("Kapolda": Kepala Kepolisian Daerah, "Menpora": Menteri Pemuda
# dan Olahraga). None is part of a person's name: idner-news-2k and NERGrit leave every one outside ("Menko Perekonomian
# Boediono", "Kapolri Jenderal Sutarman"). Those of OFFICES_WITH_UNIT are followed by the unit they head ("Kapolsek
# Tambun", "Kabid Humas Polda Metro Jaya", "Menko Polhukam"), then by the name or a rank; the others name their unit
# themselves, and the name follows ("Menhub Budi Karya Sumadi"). Not "Karo" (Kepala Biro), also a Batak people's name.
OFFICES_WITH_UNIT = _words("""
    menko wamen kabid kabag kabiro kasubdit kasubbag kasubag kasi kasie kadis kadiv kanit kasat kasatreskrim kapolda
    wakapolda kapolres wakapolres kapolresta kapolrestabes kapolsek dirjen sekda kajati kajari kakanwil pangdam danrem
    dandim danlanud danlantamal danyon kapuspen kapendam camat lurah kades wagub wabup wawali
""")
# Heads of an area's police, army or prosecutors, whose area follows ("Kapolsek Dukuh Pakis", "Pangdam Brawijaya").
AREA_HEADS = _words("""
    kapolda wakapolda kapolres wakapolres kapolresta kapolrestabes kapolsek pangdam danrem dandim danlanud danlantamal
    kajati kajari
""")
SELF_NAMED_OFFICES = _words("""
    menpora menhub mendag menkes mensos menaker menkumham mendikbud menristek menristekdikti menperin menkominfo
    menlhk menparekraf menpar mentan menag menpupr menkopolhukam kapolri wakapolri kabareskrim kasad kasal kasau
    menkopolkam menkokesra menkomaritim menkopmk menkeu menlu mendagri menhan mensesneg menpan menegpora menakertrans
    menbudpar mendiknas menkop
    pangkostrad dirlantas dirreskrimum dirreskrimsus dirresnarkoba
""")
ABBREVIATED_OFFICES = OFFICES_WITH_UNIT | SELF_NAMED_OFFICES
# A company's offices, which Indonesian business and technology news writes before the company and then the holder's
# name: "CEO Go-Jek Nadiem Makarim", "Founder Otenta Anton Liu" (IndoSum: 49 articles, each a person's name run
# together with a company and an office).
COMPANY_OFFICES = _words("ceo coo cto cfo cmo founder pendiri")
# Words that go on with a company's name, not a person's ("MDI Ventures Nicko Widjaja", "Visio Incubator").
COMPANY_NAME_WORDS = _words("""
    ventures incubator capital group labs lab studio studios digital media technologies technology tech holdings
    partners sekuritas securities motors airlines airways indonesia asia global international network networks
    systems solutions consulting research corp corporation company inc foods energy electronics logistics
""")
COMPANY_HEADS = COMPANY_OFFICES | _words("dirut presdir")  # the company's name follows these, then the holder's
# The same offices spelt out in English, as technology and business news writes them: "Chief Technology Officer
# Jeremy King", "Head of Corporate Communication BMW Group Indonesia", "Country Manager MyNurz Yudha Tirtadani"
# (IndoSum: 60 names run together with such a title). A field a title may name (``_FIELD``); a country's "Vice
# President" is a company's only with a field after it ("Vice President Legal Relation Pertamina EP", not "Vice
# President Jusuf Kalla"), and neither "Chief Inspector", a rank, nor a bare "Manager" is one.
_FIELD_WORDS = (
    "General", "Country", "Regional", "Product", "Marketing", "Sales", "Brand", "Business", "Development", "Public",
    "Relation", "Relations", "Corporate", "Communication", "Communications", "Legal", "Strategic", "Partnership",
    "Partnerships", "Operation", "Operations", "Technical", "Digital", "Finance", "Financial", "Human", "Resources",
    "Research", "Engineering", "Creative", "Content", "Customer", "Growth", "Technology", "Investor", "External",
    "Government", "Affairs", "Program", "Programme", "Project", "Account", "Commercial", "Innovation", "Strategy")
_FIELD = "(?:" + "|".join(_FIELD_WORDS) + ")"
# The words such an office opens with: a cheap check before the pattern, which runs for every span.
_ENGLISH_OFFICE_OPENERS = frozenset(_FIELD_WORDS) | frozenset({
    "Senior", "Executive", "Group", "Global", "Deputy", "Assistant", "Associate", "Chief", "Head", "Vice", "President",
    "Managing", "Chairman", "Co-Founder", "Co-founder", "Cofounder", "EVP", "SVP", "VP"})
_ENGLISH_COMPANY_OFFICE = re.compile(rf"""
    (?:(?:Senior|Executive|Group|Global|Deputy|Assistant|Associate)\s+)*
    (?:Chief\s+(?:[A-Z][a-z]+\s+){{1,2}}Officer|Chief\s+(?:Executive|Representative|Engineer)
      |Head\s+of(?:\s+(?:and\s+|&\s+)?{_FIELD}){{1,3}}|(?:Vice\s+)?President(?:\s+{_FIELD}){{1,3}}
      |(?:{_FIELD}\s+){{1,3}}(?:Manager|Director|Executive|Secretary|Head|Lead)|Managing\s+(?:Director|Partner)
      |President\s+Director|(?:Vice\s+)?Chairman|Co-?[Ff]ounder|[ES]?VP)
    (?:\s*\(\s*[A-Z]{{2,5}}\s*\))?(?:\s+(?=[A-Z\d])|$)""", re.VERBOSE)
# Units such an office heads, written with a capital ("Kabid Humas", "Kanit Reskrim", "Menko Polhukam"). A field
# named by a pe-/ke-...-an noun ("Menko Perekonomian", "Kabid Penindakan") is one too (see ``_OFFICE_FIELD``).
OFFICE_UNITS = _words("""
    humas reskrim reskrimum reskrimsus lantas narkoba ops binmas intelkam sabhara propam dokkes polair polhukam metro
    maritim dukcapil aptika hubdat bimas islam kristen katolik hindu buddha bea cukai tu sestama binpres gakkum bin
    satlantas satreskrim satresnarkoba ditlantas ditreskrimum ditreskrimsus ditresnarkoba ditnarkoba ditpolair
    dirtipikor
""")
# Bodies whose unit an office heads: from the first of them on, the unit is an organisation ("Kasat Reskrim Polresta
# Depok": Polresta Depok; "Mantan Kabareskrim Polri": Polri, as idner-news-2k tags it).
OFFICE_BODIES = _words("polda polres polresta polrestabes polrestro polsek polri mabes bareskrim kodam korem kodim")
_OFFICE_FIELD = re.compile(r"(?:pe|ke)[a-z]{4,}an")
_ROMAN = re.compile(r"[IVX]+")
# A party's adjective before a politician's name, as English news writes it ("Republican Phil Bryant", "Democrat
# Andy Beshear"): not part of the name.
PARTY_WORDS = _words("republican democrat democratic labour conservative tory")
# "Agong" (the King, "Yang di-Pertuan Agong") opens a person's span as an office, though it is no title elsewhere
# ("Mahkamah Agong", the Supreme Court, is one body's name).
_OFFICE_OR_PARTY = OFFICE_TITLES | PARTY_WORDS | {"agong"}
# The titles of Malay rulers, which are part of the ruler's name ("Sultan Ibrahim", "Tuanku Syed Sirajuddin").
RULER_TITLES = _words("sultan raja tuanku")
_OFFICE_OR_DEPUTY = OFFICE_TITLES | DEPUTY_WORDS
# Titles as AP style abbreviates them before a name ("Georgia Gov. Brian Kemp", "South Carolina Sen. Lindsey Graham").
TITLE_ABBREVIATIONS = _words("gov sen rep lt gen col sgt capt cmdr adm maj atty supt pres rev")
# "The X government", "the X regime": the name after them is the person the article names.
GOVERNMENT_OF = _words("pemerintahan pemerintah rezim kabinet kubu administrasi administration government regime")
# Words that make a name a sports club's, as clubs write them (case matters: "real" is a word): "Real Madrid",
# "Borussia Dortmund", "Bhayangkara FC", "Tottenham Hotspur" (IndoSum had "Real Madrid" as a place 50 times).
CLUB_FIRST_WORDS = frozenset({"FC", "SSC", "CF", "Real", "Atletico", "Atlético", "Inter", "Sporting", "Olympique",
                              "Borussia", "Dinamo", "Dynamo"})
CLUB_LAST_WORDS = frozenset({"FC", "CF", "AFC", "United", "Hotspur", "Rovers", "Wanderers", "Athletic", "Albion"})
# Prefixes that are a club's before a place only: Indonesian "AS" is also the United States ("AS Terbuka").
CLUB_PREFIXES_BEFORE_A_PLACE = frozenset({"AS", "AC", "SC", "SS"})
# Last words of the names of news outlets.
OUTLET_WORDS = _words("""
    agency news times post tribune herald journal gazette tv television radio press daily network channel
    media magazine weekly express telegraph online pos sports mail star courant chronicle inquirer observer
""")
_CREDIT = re.compile(
    r"\s*(?:foto|photo|dok|dokumentasi|ilustrasi|sumber|source|credit|kredit|image|gambar|grafis|video)\b"
    r"|[^()\s]*\w\.(?:com|org|net|id|ru|co|io|tv|gov|go\.id)(?:\.\w{2})?/",
    re.IGNORECASE,
)
_CREDIT_REACH = 200  # characters: a credit is a short parenthesis on one line
_SITE = re.compile(r"[^\W_][\w-]*(?:\.[\w-]+)*\.(?:com|co\.id|id|net|org|news|tv|co|my|com\.my)", re.IGNORECASE)
# Where a name never goes on: a line break, a double dash or an em dash (the dateline's "Jakarta, CNN Indonesia
# - - T.O.P ..."), a question or exclamation mark that ends a sentence ("Greece?” Penyokong"). Not a single
# hyphen between spaces: tokenised text writes "Al-Qaeda" as "Al - Qaeda"; nor a full stop ("Dr. Dre").
_BREAK = re.compile(r"\s*\n\s*|\s+(?:-\s*-+|—)\s+|[?!][\"”’')]*\s+")
# An English adjective of nationality, language or religion ("Ukrainian", "Chinese", "Buddhist"); Indonesian news
# writes the bare noun for the state ("invasi Soviet", "di Arab"), which stays a place.
_ADJECTIVE = re.compile(r"(?:an|ese|ish|ic|ist|i)$")
# An abbreviation the article defines: "Asosiasi Fintech Indonesia (Aftech)".
_DEFINED_ABBREVIATION = re.compile(r"\(\s*([A-Z][\w-]{1,15})\s*\)")
# Balinese names: "I" (men) or "Ni" (women), then the birth-order name, are part of the name.
_BALINESE_BIRTH_ORDER = re.compile(BALINESE_BIRTH_ORDER)
_BALINESE_ARTICLE = re.compile(r"(?:^|(?<=\s))(Ni|I) \Z")
# "KUALA LUMPUR, 5 Dis (Bernama) --": the outlet in brackets in a dateline, which opens a line.
OUTLET_KINDS = frozenset({"agency", "media"})
# Not apps: "lewat akun Instagram-nya" names a channel, not a party to the story (IndoSum: 350 such mentions).
COMPANY_AND_OUTLET_KINDS = OUTLET_KINDS | {"company"}
# A capitalised word of three letters or more, not followed by another capitalised word or a number ("Nokia 6").
_SINGLE_CAPITALISED_WORD = re.compile(r"(?<![\w.-])[A-Z]\w{2,}(?![\w-])(?![ \t]+[A-Z\d])")
_WORD_BEFORE = re.compile(r"(\S+)[ \t]+\Z")
_DATELINE_REACH = 800  # characters: a dateline opens the article (or its first lines, after a headline)
_DATELINE_OUTLET = re.compile(r"(?m)^[^\n()]{1,60}?\(\s*([^\W\d_][\w. ]{1,30}?)\s*\)\s*(?:[-–—]|$)")
_DATELINE_AFTER = re.compile(r"\s*(?:,|\(|[-–—:]\s)")
_HONORIFIC_FIRST_WORD = re.compile(r"(?:^|(?<=\s))(Tan|Puan|Datuk|Dato'?|Datin) \Z")
_CLOSING_BRACKET = re.compile(r"[ \t]?\)")
# Malaysian honours before a name ("Datuk Seri Amirudin Shari", "Datuk Patinggi Tan Sri Abang Johari Tun Openg"), and
# the name after them: capitalised words, with the "bin"/"binti"/"a/l" of a patronymic.
_MALAYSIAN_HONOURS = re.compile(
    rf"\b(?:(?:{MALAYSIAN_HONOURS}|Dr\.?|Haji|Hajah|Ir\.?) )+"
    r"(?P<name>[A-Z][\w'-]+(?: (?:[A-Z][\w'-]+|bin|binti|a/l|a/p))*)")
# A company's name with its Malaysian or Indonesian legal form after it ("Tenaga Nasional Berhad", "Malayan Banking
# Bhd", "PT Bank Central Asia Tbk"): capitalised words, "&" between two.
_LEGAL_FORM_AT_END = re.compile(r"(?:Sdn\.? )?(?:Berhad|Bhd|Tbk)\b\.?")
_COMPANY_WITH_LEGAL_FORM = re.compile(
    r"(?<![\w&.'-])(?:[A-Z][\w&.'-]*(?: & | )){1,12}(?:Sdn\.? )?(?:Berhad|Bhd|Tbk)\b")  # bounded: linear time
# The honours that end a body's or a place's span belong to the person named after it ("Gabenor Bank Negara
# Malaysia Datuk Seri Abdul Rasheed Ghaffour", the bank tagged up to "Seri").
_HONOURS_AT_END = re.compile(rf"(?:\s(?:{MALAYSIAN_HONOURS}))+\Z")
_NAME_AFTER = re.compile(r"[ \t]+[A-Z]")
# A single dash between spaces is part of a tokenised name ("Al - Qaeda"), but not after a site's name or a city in
# capitals (datelines: "Suara.com - Komisi Pemberantasan Korupsi", "KUALA LUMPUR - Tim ...") nor between two places
# ("Rusia - Ukraina").
_SPACED_DASH = re.compile(r" [-–—] ")
_GLUE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LOWER_WORD = re.compile(r"\s[a-z]")
# Indonesian and Malay verbs by their prefixes (menamakan, menggotong, berkata, terpilih)
_VERB_SHAPE = re.compile(r"(?:me|ber|ter)[a-z]{4,}")
_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
# From a word's start only: tried at every capital inside a glued 50,000-character token ("aAaA…"), it had cost
# 14 s of CPU for one article.
# Forms of address, after which comes a person, whatever the name ("Pak Sultan" tagged a place); not "Ibu", also the
# mother of "Ibu Kota" (the capital).
_ADDRESS_OPENERS = _words("pak bu bapak ny nyonya")
# Degrees and a Muslim scholar's honorific, which open a person's name ("Dr. Jonathan Day", "KH Maemoen Zubair"),
# and the words for places and institutions named after a titled person ("Jalan Ir. H. Juanda", "RSUD dr Soegiri").
_NAME_OPENING_DEGREES = _words("dr prof ir drs kh")
_NAMED_AFTER_PEOPLE = _words("jalan jl jln rs rsu rsud rsup sakit daerah universitas stadion bandara gedung museum")
# More words for what is named after a person: "Stasiun Sudirman", "Bandar Udara Ngurah Rai", "Masjid Istiqlal".
_NAMED_AFTER_PEOPLE_TOO = _words("stasiun bandar masjid kediaman warung makam monumen tugu taman lapangan sekolah")
_KINDS_OF_PLACE = _words("kota kabupaten provinsi desa kecamatan pulau")
# Words before a place's name: prepositions of place and words for a town ("di Hamilton", "the town of Zandvoort").
_PLACE_LEADS = _KINDS_OF_PLACE | _words("di in near at town city village")
# An office that names its own field, then (for ``_missed_holders``) a name of one to three capitalised words.
_HOLDER_OFFICE = re.compile(r"(?<![\w-])(Wapres|Wakil Presiden|Presiden|Menko [A-Z][a-z]+|[A-Z][a-z]{4,}) (?=[A-Z])")
_NAME_RUN = re.compile(r"[A-Z][a-z][\w'’-]*(?: [A-Z][a-z][\w'’-]*){0,2}(?![\w'’-])(?! [A-Z\d])")
_OFFICES_BEFORE_A_HOLDER = SELF_NAMED_OFFICES | _words("wapres presiden")
_CAPITAL_RUN = re.compile(r"(?<![\w'’-])[A-Z][\w'’-]*(?: [A-Z][\w'’-]*){3,9}")
_ABBREVIATION_THEN_PLACE = re.compile(r"\s*\(\s*[A-Z][\w.&-]{0,15}\s*\)\s+([A-Z][\w'’-]*(?: [A-Z][\w'’-]*)?)")
# Acronyms of common nouns, no names ("AI", artificial intelligence, had been a place 20 times on two tech pages;
# "GDP", "CPU", "SUV" organisations): no entity alone, as none of the NER sets tags them. Not "PC", "TV", "BBM" or
# "CCTV", which also name bodies (BlackBerry Messenger, China Central Television).
COMMON_NOUN_ACRONYMS = frozenset({
    "AI", "A.I.", "GDP", "PDB", "CEO", "CFO", "CTO", "COO", "EV", "EVs", "SUV", "SUVs", "CPU", "CPUs", "GPU", "GPUs",
    "RAM", "SIM", "USB", "USB-C", "HDMI", "ECG", "FPS", "EBITDA", "IPO", "IPOs", "ETF", "ETFs", "VPN", "IoT", "API",
    "APIs", "DNA", "LED", "LCD", "OLED", "SSD", "GPS", "NFC", "LTE", "SMS", "URL", "HTML", "Wi-Fi", "WiFi", "VR",
    "HVAC", "CDMA", "GSM", "HPV"})
MALAY_LOWER_CASE_FILE = "lowercase_ms.txt"
COUNTRY_CODES_FILE = "country_codes.txt"
_DEFINED_BY = re.compile(r"[ \t]*\([ \t]*([A-Z][\w.&-]{0,15})[ \t]*\)")
# Languages whose news follows the Indonesian press's conventions: an organisation's bracketed abbreviation is part
# of its name (as idner-news-2k tags it), and training/acronyms.tsv's acronyms are its institutions'.
INDONESIAN_PRESS_LANGUAGES = frozenset({"id", "ms"})
_ENDS_WITH_ABBREVIATION = re.compile(r"\(\s*[A-Z][\w.&-]{0,15}\s*\)\Z")
_PLACE_AFTER = re.compile(r"\s+([A-Z][\w'’-]*(?: [A-Z][\w'’-]*)?)")
_MAX_PLACE_WORDS = 3
_CAPITALISED_RUN = re.compile(r"(?<![\w'-])[A-Z][\w'-]*(?: [A-Z][\w'-]*)+")
_KNOWN_NAME_MAX_WORDS = 4
_HYPHENATED_TAIL = re.compile(r"-([a-z]{2,5})(?![\w-])")
_CLITICS = frozenset({"nya", "lah", "kah", "pun", "ku", "mu", "tah"})
_AGE_GROUP = re.compile(r" U-?\d{2}\b")
# A surname and two syllables of a given name, none longer than a syllable: "Wong Kah Woh", "Lee Hsien Loong".
_CHINESE_NAME = re.compile(r"(?<![\w'’.-])([A-Z][a-z]{0,4}) [A-Z][a-z]{1,5} [A-Z][a-z]{1,5}(?![\w'’-]| [A-Z])")
_HONOUR_WORDS = frozenset({"Sri", "Seri"})
_CAPITALISED_WORD = r"[A-Z]\w*(?:['’-]\w+)*"
_CAPITALISED_WORDS = re.compile(  # a run of one to three, not part of a longer one
    rf"(?<![\w'’.-]){_CAPITALISED_WORD}(?: {_CAPITALISED_WORD}){{0,2}}(?!\w|['’-]\w| [A-Z])")
_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{3,6}(?![\w-])")
_DEFINING_BRACKET = re.compile(r"[ \t]*\([ \t]*\Z")
_PERSON_WORDS = (2, 4)
_HEADLINE_MAX_WORDS = 25
_LIST_ITEM = re.compile(r"\d+[.)]\s")
_LINE = re.compile(r"[^\n]+")
# Words a Title Case headline leaves in lower case (Indonesian and Malay function words, English ones).
_HEADLINE_LOWER_WORDS = _words("dengan untuk dari pada yang oleh akan atau bagi kepada terhadap tentang dalam sebagai "
                               "from with into over after about than that this their")
_PORTFOLIO_MAX_WORDS = 4  # "Pembangunan Wanita, Keluarga dan Masyarakat"
_COORDINATING_MINISTERS = _words("menko")  # "Menko Kemaritiman Luhut Panjaitan", "Menko Perekonomian Boediono"
_MINISTERS = _words("menteri") | _COORDINATING_MINISTERS
_MALAY_NAME_MAX_WORDS = 7  # "Abang Johari Tun Openg", "Muhammad Radzi bin Abu Hassan"


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    start: int
    end: int


def refine(text: str, spans: Sequence[EntitySpan], names: NameTable | None = None,
           language: str | None = None) -> list[EntitySpan]:
    """The recogniser's spans of ``text`` with the rules above applied, in text order. ``language`` (the
    article's) picks the conventions that differ between languages (see ``_with_defined_abbreviation``). Only the
    text the recogniser read is read here too: the first ``MAX_CHARS`` characters (a 1 MB paste of "A Bhd A Bhd …"
    had cost 47 s of CPU in the companies' rule, whose work grows with the entities it finds)."""
    table = names or shared(NameTable)
    text = text[:MAX_CHARS]
    if language == "ms":
        spans = _with_malay_bodies(text, spans, table)
        spans = _honoured_people(text, spans, table)
    if any(_opens_with_office(span) for span in spans):
        named = frozenset(word for span in spans if span.label == "PER" and not _opens_with_office(span)
                          for word in name_key(span.text).split())
        spans = [piece for span in spans for piece in _office_holder(text, span, table, named)]
    split = [(span, [piece for row in _results_row(text, span, table)
                     for part in _company_and_office_holder(text, row, table)
                     for piece in _brand_run_together(text, part, table)]) for span in spans]
    # a company named between an office and its holder ("CEO Ruangguru Belva Devara") is one wherever the article
    # names it, though the recogniser tags it a person elsewhere, as it had tagged it here
    companies = frozenset(name_key(piece.text) for span, pieces in split if len(pieces) > 1
                          for piece in pieces if piece.label == "ORG")
    spans = [piece for _, pieces in split for piece in pieces]
    # the words of the names of people the article names in full, which one word after an office may be
    surnames = frozenset(word for span in spans if span.label == "PER"
                         and len(parts := name_key(table.person(span.text)).split()) > 1
                         and parts[0] not in _OFFICE_OR_DEPUTY for word in parts[1:])
    kept = [_without_leading_titles(text, trimmed, table, malay=language == "ms", surnames=surnames) for span in spans
            if not _in_credit(text, span) and not _common_word(text, span, table) and not _office_alone(span)
            and span.text.strip() not in COMMON_NOUN_ACRONYMS
            and not (language == "ms" and _malay_common_word_opening_a_sentence(text, span, table))
            and not _an_event(span, language)
            if (trimmed := _without_title_abbreviation(text, span)) is not None]
    kept = [_national_team(text, _with_hyphenated_given_name(text, _with_the(text, _with_whole_honorific(
                text, _with_balinese_article(text, _dateline_place(text, _ap_state(text, edged, table), table))))),
                table)
            for span in _with_abbreviation_and_place(text, kept, table)
            for edged in _edges(text, _without_weekday(text, _without_opening_word(text, span, language), table),
                                table)]
    people = _people(kept)
    tagged_people = frozenset(word for span in kept if span.label == "PER" for word in name_key(span.text).split())
    pieces = [piece for span in kept for piece in _split(text, span, table, people, tagged_people)]
    defined = {name_key(found.group(1)) for found in _DEFINED_ABBREVIATION.finditer(text)}
    first_names = frozenset(key.split()[0] for span in kept if span.label == "PER" if (key := name_key(span.text)))
    pieces = [part for piece in pieces
              for part in _organisation_then_person(text, piece, table, defined, first_names)]
    pieces += _missed_people(text, pieces, table)
    if language in INDONESIAN_PRESS_LANGUAGES:
        pieces = sorted([*pieces, *_missed_holders(text, pieces, table)], key=lambda span: span.start)
    if language in INDONESIAN_PRESS_LANGUAGES:
        pieces = _with_chinese_names(text, pieces, table)
    pieces += _dateline_outlets(text, pieces, table)
    pieces += _missed_companies_and_outlets(text, pieces, table)
    pieces = _companies_by_legal_form(text, pieces)
    pieces = _known_organisations(text, pieces, table)
    if language in INDONESIAN_PRESS_LANGUAGES:  # the acronyms are the Indonesian press's
        pieces += _missed_institutions(text, pieces, table)
        pieces += _missed_countries(text, pieces, table)
    pieces = _joined_names(text, [piece for piece in pieces if not _common_word(text, piece, table)], table)
    pieces = _in_headlines(text, pieces, table)
    pieces = sorted(_retyped(pieces, table, people), key=lambda span: span.start)
    pieces = _surnames_of_named_people(text, [_person_by_given_name(text, span, table) for span in pieces], table)
    if companies:
        pieces = [EntitySpan(span.text, "ORG", span.start, span.end)
                  if span.label == "PER" and name_key(span.text) in companies else span for span in pieces]
    if language == "en":  # the Indonesian recogniser and corpora have no MISC
        pieces = [_team_of_a_place(text, _titled_person(text, span, table), table) for span in pieces]
        pieces = sorted([*map(_as_event, pieces), *_quoted_titles(text, pieces)], key=lambda span: span.start)
    return _with_defined_abbreviation(text, pieces, table) if language in INDONESIAN_PRESS_LANGUAGES else pieces


def _without_leading_titles(text: str, span: EntitySpan, table: NameTable, *, malay: bool = False,
                            surnames: frozenset[str] = frozenset()) -> EntitySpan:
    """"Dubes Hasan Kleib" tagged a person is Hasan Kleib: the office before a person's name is not part of it
    (two words of the name at least stay). Royal and honorific titles are ("Pangeran Diponegoro", "Tun Mahathir").
    Nor are a form of address, a degree or a rank ("Ny Herawati Boediono", "Kadiv Humas Polri Irjen Boy Rafli Amar"
    is Boy Rafli Amar; "Dr. Dre" and "Pol Pot" keep theirs). Nor is the last word of an institution's name before
    two words of a person's ("Academy John Bailey" tagged a person); before fewer, the span is the institution's
    ("Bank Mandiri", "Setara Institute Hendardi"; see ``_type``)."""
    if span.label != "PER":
        return span
    words = _words_of(text, span.start, span.end)
    office = next((i for i, word in enumerate(words) if word.text.lower() not in _OFFICE_OR_DEPUTY), 0)
    if office and (table.country(_join(text, words[office:])) is not None or (
            words[0].text.lower() in AREA_OFFICES and table.own_place(_join(text, words[office:])) is not None)):
        # "Menlu Korut", "Gabenor Alaska": the office's country or area, no name
        return _span(text, words[office].start, span.end, "LOC")
    # "Setiausaha Agung Anthony Loke" tagged from "Agung": the office's second word (Agung Laksono keeps his name)
    first = 1 if len(words) > 2 and words[0].text == "Agung" \
        and _word_before(text, span.start).lower() in GENERAL_OFFICES else 0
    while len(words) - first > 2 and (words[first].text.lower() in _OFFICE_OR_PARTY or (
            words[first].text.lower() in DEPUTY_WORDS and words[first + 1].text.lower() in OFFICE_TITLES)):
        first += 1  # "Vice President Jusuf Kalla": "vice" is no office by itself, only before one
    if len(words) - first == 2 and words[first].text.lower() in _OFFICE_OR_PARTY \
            and name_key(table.person(words[-1].text)) in surnames:
        first += 1  # "President Zelenskyy", "Vice President Biden" where the article names Joe Biden
    # "Menteri Kewangan Lim Guan Eng", with "Menteri" in the span or just before it: the portfolio is no name either;
    # nor its last words after "dan" ("Menteri Komunikasi dan Informatika Rudiantara", tagged from "Informatika")
    before = words[first - 1].text.lower() if first else _word_before(text, span.start).lower()
    if before in _MINISTERS:
        first += _portfolio_words(text, words[first:], table, keep=1 if before in _COORDINATING_MINISTERS else 2)
    elif before == "dan" and not first:
        first += _portfolio_tail(text, span, words, table)
    # "Kasat Satlantas Purwakarta AKP Arman Sahti": a rank inside the span ends the office before the name.
    first = max([first, *(i + 1 for i in range(first, len(words) - 1) if words[i].text.lower() in RANKS)])
    while len(words) - first > 1 and _address(text, words, first, malay=malay) \
            and table.nickname(_join(text, words[first:])) is None:  # not "Puan Maharani", a name the tables know
        first += 1
    if (len(words) - first > 2 and words[first].text.lower() in INSTITUTION_WORDS
            and _looks_like_a_name(words[first + 1:], table)):
        first += 1
    return span if first == 0 else _span(text, words[first].start, span.end, span.label)


def _word_before(text: str, position: int) -> str:
    before = _WORD_BEFORE.search(text, max(0, position - 40), position)
    return before.group(1) if before is not None else ""


def _portfolio_words(text: str, words: Sequence[_Word], table: NameTable, keep: int = 2) -> int:
    """How many of ``words`` name a minister's portfolio ("Kewangan", "Luar Negeri", "Sumber Manusia": there is a
    "Kementerian" of that name), leaving ``keep`` words of a name at least; 0 when they name none."""
    return next((size for size in range(min(_PORTFOLIO_MAX_WORDS, len(words) - keep), 0, -1)
                 if _a_portfolio(table, _join(text, words[:size]))), 0)


def _portfolio_tail(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable) -> int:
    """How many of ``words`` end a minister's portfolio begun before the span ("Menteri Komunikasi dan" +
    "Informatika Rudiantara"), leaving one word at least; 0 when they end none."""
    before = text[max(0, span.start - 60):span.start].split()
    offices = [index for index, word in enumerate(before) if word.lower() in _MINISTERS]
    if not offices or len(before) - offices[-1] - 1 > _PORTFOLIO_MAX_WORDS:
        return 0
    head = " ".join(before[offices[-1] + 1:])  # "Komunikasi dan"
    return next((size for size in range(min(_PORTFOLIO_MAX_WORDS, len(words) - 1), 0, -1)
                 if _a_portfolio(table, f"{head} {_join(text, words[:size])}")), 0)


def _a_portfolio(table: NameTable, name: str) -> bool:
    """Does a ministry of that name exist ("Kewangan": Kementerian Kewangan)?"""
    found = table.organisation(f"Kementerian {name}")
    return found is not None and found.kind == MINISTRY_KIND


def _office_holder(text: str, span: EntitySpan, table: NameTable, named: frozenset[str]) -> list[EntitySpan]:
    """A span that opens with an abbreviated office (``ABBREVIATED_OFFICES``) is the office's unit and its holder,
    neither of which the office is part of: "Kabid Humas Polda Metro Jaya Kombes Argo Yuwono" is Polda Metro Jaya
    (an organisation) and Argo Yuwono, "Kapolsek Ciampea" is the place Ciampea, "Menpora Imam Nahrawi" is Imam
    Nahrawi, and "Kabid Humas" or "Kapolda" alone names no one.

    The unit runs to its last unit word (``_office_unit``), the region after a police or military body ("Polres
    Brebes") and the places after it ("Sekda Purwakarta Fadil Karsoma"); a rank ends it wherever it stands. What
    follows is the holder's name, except after an area's head ("Kapolsek Dukuh Pakis": the area, as the press
    writes a police chief's name after his rank) and one word after a head of a unit with no unit word ("Kapolsek
    Tambun"), unless the article names a person by that word elsewhere ("Menko Luhut", with Luhut Pandjaitan)."""
    if not _opens_with_office(span):
        return [span]
    words = _words_of(text, span.start, span.end)
    offices = 0
    while offices < len(words) and words[offices].text.lower() in ABBREVIATED_OFFICES:
        offices += 1
    after, office = words[offices:], {word.text.lower() for word in words[:offices]}
    rank = max((index for index, word in enumerate(after) if word.text.lower() in OFFICE_RANKS), default=None)
    if rank is not None:  # "Kapolsek Taman Sari Komisaris Erick Frendriz"
        unit, rest = after[:rank], after[rank + 1:]
    else:
        end = _unit_end(text, after, table)
        unit, rest = after[:end], after[end:]
        area = not unit and bool(office & AREA_HEADS)
        if area:  # the area's name comes first: "Kajati Kaltim Fadil Zumhana"
            unit, rest = after[:1], after[1:]
        one_word_unit = (area or (not unit and bool(office & OFFICES_WITH_UNIT))) and len(rest) == 1
        if one_word_unit and name_key(rest[0].text) not in named:  # "Kapolsek Dukuh Pakis", "Kapolsek Tambun"
            unit, rest = after, ()
    found = _office_unit_span(text, unit, table)
    if rest:
        person = _without_leading_titles(text, _span(text, rest[0].start, rest[-1].end, "PER"), table)
        name = _words_of(text, person.start, person.end)
        if name and _looks_like_a_name(name, table) \
                and not any(word.text.isupper() and len(word.text) > 2 for word in name):
            found.append(person)
    return found


def _company_and_office_holder(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan]:
    """ "CEO Go-Jek Nadiem Makarim" is the company Go-Jek and Nadiem Makarim; "Founder Ralali" is Ralali. The company
    is the word after the office, and the words after it written as companies write their names, not as people do
    ("CEO Freeport McMoran Richard Adkerson", "COO Jurnal.id Anthony Kosasih"); two words of a name at least stay.
    An office spelt out in English (``_ENGLISH_COMPANY_OFFICE``) is cut off too (see ``_after_spelt_out_office``)."""
    first = span.text.split(maxsplit=1)[0] if span.text.strip() else ""
    if span.label == "PER" and span.text.count(" ") >= 2 and _after_company_office(text, span.start):
        # "CEO Tesla Elon Musk", "Direktur Utama Telkom Alex J. Sinaga", tagged a person from the company on
        return _company_then_holder(text, _words_of(text, span.start, span.end)) or [span]
    if span.label not in ("PER", "ORG", "LOC") or (first not in _ENGLISH_OFFICE_OPENERS
                                                     and first.lower() not in COMPANY_OFFICES):
        return [span]  # the cheap check first: this runs for every span
    words = _words_of(text, span.start, span.end)
    spelt_out = _ENGLISH_COMPANY_OFFICE.match(span.text) if first in _ENGLISH_OFFICE_OPENERS else None
    if spelt_out is not None:
        after = span.start + spelt_out.end()
        return _after_spelt_out_office(text, span, [word for word in words if word.start >= after], table)
    if len(words) < 2 or words[0].text.lower() not in COMPANY_OFFICES or span.label == "LOC" \
            or words[1].text.lower() in INSTITUTION_WORDS:  # "Founder Institute" is an organisation's name
        return [span]
    return _company_then_holder(text, words[1:]) or [span]


def _brand_run_together(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan]:
    """A person's span opened by a company or an app the tables know: a product ("Oppo F5", "Apple Watch",
    "Facebook Messenger"), which is the company's mention and no person; the company's name ("Samsung Electronics",
    "Pelni Logistics"), an organisation; or the company run into a person's name ("Uber Travis Kalanick"), the company
    and the person. Where the rest reads as a name but not surely as a person's, the span stays as it was tagged."""
    if span.label != "PER" or " " not in span.text.strip():
        return [span]
    words = _words_of(text, span.start, span.end)
    size = _brand_at_start(text, words, table)
    if not size or text[words[size - 1].end:words[size].start] != " ":
        return [span]
    company = _span(text, words[0].start, words[size - 1].end, "ORG")
    rest = words[size:]
    if all(word.text.lower() in COMPANY_NAME_WORDS for word in rest):
        return [EntitySpan(span.text, "ORG", span.start, span.end)]
    if len(rest) >= _PERSON_WORDS[0] and _looks_like_a_name(rest, table) \
            and all(_capital_habits().get(word.text.lower(), "cap") == "cap" for word in rest) \
            and not any(char.isdigit() for word in rest for char in word.text):
        return [company, _span(text, rest[0].start, rest[-1].end, "PER")]
    return [company] if not _looks_like_a_name(rest, table) or len(rest) == 1 else [span]


def _results_row(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan]:
    """A results table's row run into one span, a name, a country's three-letter code and a team ("Marc Marquez ESP
    Repsol Honda", "Sebastian Vettel GER Scuderia Ferrari"): the person and the team; the code, a nationality, goes."""
    if span.label not in ("PER", "ORG"):
        return [span]
    words = _words_of(text, span.start, span.end)
    code = next((index for index in range(_PERSON_WORDS[0], len(words) - 1) if words[index].text in _country_codes()),
                None)
    if code is None or not _looks_like_a_name(words[:code], table) or not words[code + 1].text[:1].isupper():
        return [span]
    return [_span(text, span.start, words[code - 1].end, "PER"), _span(text, words[code + 1].start, span.end, "ORG")]


@cache
def _country_codes() -> frozenset[str]:
    """ISO 3166 and IOC three-letter country codes (``models/country_codes.txt``, built by build_names.py)."""
    return word_list(DEFAULT_MODEL_DIR / COUNTRY_CODES_FILE)


def _brand_at_start(text: str, words: Sequence[_Word], table: NameTable) -> int:
    """How many of ``words``, from the first and leaving at least one, name a company or an app the tables know ("XL
    Axiata" in "XL Axiata Dian Siswarini"); 0 for none."""
    for size in range(min(_MAX_BRAND_WORDS, len(words) - 1), 0, -1):
        brand = table.organisation(_join(text, words[:size]))
        if brand is not None and brand.kind in ("company", "app"):
            return size
    return 0


def _after_company_office(text: str, start: int) -> bool:
    """Whether a company's office ("CEO", "Pendiri", "Dirut", "Direktur Utama", "Chief Executive Officer (CEO)")
    stands just before ``start``: the company's name comes between it and the holder's."""
    words = [word.strip("()") for word in _two_words_before(text, start)]
    return bool(words) and (words[-1] in COMPANY_HEADS or words == ["direktur", "utama"])


def _two_words_before(text: str, start: int, *, strip: str = "") -> list[str]:
    """The (up to) two words just before ``start``, in lower case: where an office's name ends."""
    return [word.lower() for word in text[max(0, start - 40): start].rstrip(strip).split()[-2:]]


def _company_then_holder(text: str, words: Sequence[_Word]) -> list[EntitySpan] | None:
    """The company (its first word, and the company-shaped words after it) and the holder's name after it; None when
    what follows the company is no name."""
    end = 1
    while len(words) - end > 2 and (_COMPANY_SHAPED.search(words[end].text) or len(words[end - 1].text) == 1
                                    or words[end - 1].text in ("PT", "Perum")
                                    or words[end].text.lower() in COMPANY_NAME_WORDS):
        end += 1  # "Freeport McMoran", "M Cash", "Perum Peruri", "MDI Ventures", "Gojek Indonesia"
    company = [_span(text, words[0].start, words[end - 1].end, "ORG")]
    rest = words[end:]
    if len(rest) < 2 or not all(word.text[:1].isupper() for word in rest):
        return company if not rest else None
    return [*company, _span(text, rest[0].start, rest[-1].end, "PER")]


def _after_spelt_out_office(text: str, span: EntitySpan, rest: Sequence[_Word], table: NameTable) -> list[EntitySpan]:
    """What follows an office spelt out in English: nothing ("Chief Executive Officer" alone names no one); the
    company alone, where the recogniser tagged it all an organisation ("General Manager Arema FC"); the holder's
    two-word name after a title tagged a person ("Chief Executive Takeshi Idezawa"); or the company and its holder
    ("Chief Executive Officer Indofood Anthoni Salim"), unless the company's name runs on ("BMW Group Indonesia")."""
    if not rest:
        return []
    whole = _span(text, rest[0].start, rest[-1].end, "ORG")
    if span.label == "ORG" or len(rest) == 1:
        return [whole]
    if span.label == "PER" and len(rest) == 2 and not _COMPANY_SHAPED.search(rest[0].text):
        return [_span(text, rest[0].start, rest[-1].end, "PER")]
    split = _company_then_holder(text, rest)
    if split is None or len(split) == 1:
        return [whole]
    holder = _words_of(text, split[-1].start, split[-1].end)
    if not _looks_like_a_name(holder, table) or any(word.text.lower() in INSTITUTION_WORDS for word in holder):
        return [whole]
    return split


def _unit_end(text: str, words: Sequence[_Word], table: NameTable) -> int:
    """Where the unit an office heads ends in ``words`` (those after the office, with no rank among them)."""
    units = [index for index in range(len(words)) if _office_unit(words, index)]
    end = units[-1] + 1 if units else 0
    if units and words[units[-1]].text.lower() in OFFICE_BODIES and end < len(words):
        end += _place_at(text, words, end, table) or 1  # the body's region: "Polres Brebes", "Polda Metro Jaya"
    while end < len(words) and (size := _place_at(text, words, end, table)):
        end += size
    return end


def _office_unit_span(text: str, unit: Sequence[_Word], table: NameTable) -> list[EntitySpan]:
    """What a unit names: the body from its first word on ("Polresta Depok"), or a place that is all of it."""
    body = next((index for index, word in enumerate(unit) if word.text.lower() in OFFICE_BODIES), None)
    if body is not None:
        return [_span(text, unit[body].start, unit[-1].end, "ORG")]
    if unit and not any(word.text.lower() in OFFICE_UNITS for word in unit) \
            and _place_at(text, unit, 0, table) == len(unit):
        return [_span(text, unit[0].start, unit[-1].end, "LOC")]
    return []


def _opens_with_office(span: EntitySpan) -> bool:
    first = span.text.split(maxsplit=1)
    return bool(first) and first[0].lower() in ABBREVIATED_OFFICES


def _office_unit(words: Sequence[_Word], index: int) -> bool:
    """Is ``words[index]`` part of the unit an abbreviated office heads (not a rank: the name follows that)?"""
    word = words[index].text
    lower = word.lower()
    if lower in RANKS:
        return False
    if _ROMAN.fullmatch(word):  # "Kanit I Ditnarkoba", not a Balinese "I Made"
        return index + 1 == len(words) or _BALINESE_BIRTH_ORDER.match(words[index + 1].text) is None
    return (lower in OFFICE_UNITS or lower in OFFICE_BODIES or (word.isupper() and len(word) > 1)
            or (lower == "jaya" and index > 0 and words[index - 1].text.lower() == "metro")
            or (_OFFICE_FIELD.fullmatch(lower) is not None and _written_in_lower_case(lower)))


@cache
def _capital_habits() -> dict[str, str]:
    """How Indonesian news writes each word inside a sentence (the recogniser's capitalisation lexicon, from
    IndoSum): "cap" always with a capital, as names are; "mostcap", "somecap" or "low" (only in lower case)."""
    lines = read_lines(DEFAULT_MODEL_DIR / lexicon_file("id"))
    return {word: habit for word, habit, *_ in (line.split("\t") for line in lines)}


@cache
def _malay_lower_case_words() -> frozenset[str]:
    """Words Malay writes in lower case inside a sentence (models/lowercase_ms.txt, built by
    training/build_malay_lexicon.py from TICO-19, TALPCo and FLORES-200 Malay)."""
    return word_list(DEFAULT_MODEL_DIR / MALAY_LOWER_CASE_FILE)


def _with_malay_bodies(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """``spans`` with each Malaysian body's name (see ``MALAY_BODY_OPENERS``) one organisation, the spans inside it
    ("Malaysia") dropped. Left alone where a span crosses the name's edge."""
    words = _words_of(text, 0, len(text))
    people = frozenset(span.start for span in spans if span.label == "PER")
    out = list(spans)
    index = 0
    while index < len(words):
        last = _malay_body_end(text, words, index, people, table)
        if last is None:
            index += 1
            continue
        start, end = words[index].start, words[last].end
        out = [piece for span in out for piece in _body_then_person(text, span, start, end, table)
               if not _office_before_body(text, piece, start, end)]
        if not any(span.start < end and start < span.end and (span.start < start or span.end > end) for span in out):
            out = [span for span in out if not start <= span.start < end] + [_span(text, start, end, "ORG")]
            out += _person_after_body(text, words[last + 1:last + 1 + _PERSON_WORDS[1]], end, out, table)
        index = last + 1
    return sorted(out, key=lambda span: span.start)


def _body_then_person(text: str, span: EntitySpan, start: int, end: int, table: NameTable) -> list[EntitySpan]:
    """A span opening with the body's name (``start``-``end``) and running on into a person's name is the two:
    "Mahkamah Persekutuan Brett Kavanaugh" tagged one organisation."""
    if span.start != start or span.end <= end:
        return [span]
    rest = _words_of(text, end, span.end)
    if len(rest) > _PERSON_WORDS[1] or not all(word.text[0].isupper() for word in rest) \
            or not _reads_as_a_name(rest, table):
        return [span]
    return [_span(text, start, end, "ORG"), _span(text, rest[0].start, span.end, "PER")]


def _office_before_body(text: str, span: EntitySpan, start: int, end: int) -> bool:
    """A span of an office and the body's name (``start``-``end``) that holds it, "Pengerusi Suruhanjaya Pilihan
    Raya" tagged a place: the office is no entity, the body is."""
    return span.start < start < span.end <= end and all(
        word.text.lower() in _OFFICE_OR_DEPUTY for word in _words_of(text, span.start, start))


def _honoured_people(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """In Malay text, the name after Malaysian honours is a person's: found where the recogniser passed it by
    ("Menteri Besar Johor Datuk Onn Hafiz Ghazi hadir") or found part of it ("Datuk Seri Tajuddin Abdul Rahman"
    tagged "Abdul Rahman"), and cut from the place run into it ("Sarawak Datuk
    Patinggi Tan Sri Abang Johari Tun Openg", tagged one person: Sarawak, and the person). "Datuk Bandar" is an
    office, the mayor's, not an honour ("Datuk Bandar Ithaca")."""
    out = list(spans)
    for found in _MALAYSIAN_HONOURS.finditer(text):
        start, end = found.start("name"), found.end("name")
        words = _words_of(text, start, end)
        if not 1 <= len(words) <= _MALAY_NAME_MAX_WORDS or words[-1].text in ("bin", "binti", "a/l", "a/p") \
                or words[0].text == "Bandar" \
                or any(word.text.lower() in OFFICE_TITLES for word in words):  # "Tun Openg", a father's honour
            continue
        crossing = [span for span in out if span.start < end and start < span.end]
        if not crossing:
            out.append(_span(text, start, end, "PER"))
            continue
        span, before = crossing[0], text[crossing[0].start:found.start()].rstrip()
        if len(crossing) == 1 and span.label == "PER" and start <= span.start and span.end <= end:
            # part of the name found ("Datuk Seri Tajuddin Abdul Rahman" tagged "Abdul Rahman"): all of it
            out = [other for other in out if other is not span] + [_span(text, start, end, "PER")]
        elif len(crossing) == 1 and before and span.end == end and table.place(before, fuzzy=False) is not None:
            place = _span(text, span.start, span.start + len(before), "LOC")
            out = [other for other in out if other is not span] + [place, _span(text, start, end, "PER")]
    return sorted(out, key=lambda span: span.start)


def _person_after_body(text: str, after: Sequence[_Word], end: int, spans: Sequence[EntitySpan],
                       table: NameTable) -> list[EntitySpan]:
    """The person's name right after a body's name that the recogniser passed by ("Hakim Mahkamah Agong Brett
    Kavanaugh"), where nothing else was found."""
    run = list(itertools.takewhile(lambda word: word.text[:1].isupper(), after))
    if not run or text[end:run[0].start] != " " or not _reads_as_a_name(run, table) \
            or any(span.start < run[-1].end and run[0].start < span.end for span in spans):
        return []
    return [_span(text, run[0].start, run[-1].end, "PER")]


def _malay_body_end(text: str, words: Sequence[_Word], index: int, people: frozenset[int],
                    table: NameTable) -> int | None:
    """The index of the last word of the body's name opening at ``words[index]``, or None: capitalised words, and
    "dan" between two, until a title, a person the recogniser found, or a run that reads as a person's name
    ("Mahkamah Agong Brett Kavanaugh")."""
    first = words[index]
    if first.text.lower() not in MALAY_BODY_OPENERS or not first.text[0].isupper():
        return None
    last = index
    position = index + 1
    while position < len(words) and position - index < _MALAY_BODY_MAX_WORDS:
        word = words[position]
        if text[words[position - 1].end:word.start] != " ":
            break
        if word.text in _MALAY_NAME_JOINERS and position + 1 < len(words):
            after = words[position + 1]
            if (text[word.end:after.start] != " " or not after.text[0].isupper()
                    or after.text.lower() in _SECOND_BODY_OPENERS):
                break
            position += 1
            continue
        if (not word.text[0].isupper() or len(word.text) == 1 or word.text.lower() in TITLES  # "D K Arya"
                or word.text.lower() in HONORIFICS
                or word.start in people or _reads_as_a_name(words[position:position + _PERSON_WORDS[1]], table)):
            break
        last = position
        position += 1
    return last if last > index else None


def _reads_as_a_name(words: Sequence[_Word], table: NameTable) -> bool:
    """Two or more capitalised words that read as a person's name ("Brett Kavanaugh"), not as a body's description
    ("Kesihatan Sedunia", "Republik Florida"): the first one news writes with a capital (IndoSum), none one it writes
    otherwise or Malay writes in lower case, none a place or an institution's word."""
    run = list(itertools.takewhile(lambda word: word.text[:1].isupper(), words))
    if len(run) < _PERSON_WORDS[0] or _capital_habits().get(run[0].text.lower()) != "cap":
        return False
    return _looks_like_a_name(run, table) and all(
        _capital_habits().get(word.text.lower(), "cap") == "cap" and word.text.lower() not in _malay_lower_case_words()
        and table.place(word.text, fuzzy=False) is None for word in run)


def _malay_common_word_opening_a_sentence(text: str, span: EntitySpan, table: NameTable) -> bool:
    """"Haiwan", "Kebimbangan", "Simptom" (animal, concern, symptom) opening a Malay sentence, tagged a person: a
    common word Indonesian writes otherwise, so IndoSum's lexicon does not know it. Not a known place ("Cuba"), nor
    a body ("Polis")."""
    word = span.text.strip()
    if span.label != "PER" or " " in word or word.lower() not in _malay_lower_case_words() \
            or word.lower() in INSTITUTION_WORDS:  # "Polis berkata": the police, an organisation
        return False
    return _opens_a_sentence(text, span.start) and table.place(word, fuzzy=False) is None


def _opens_a_sentence(text: str, position: int) -> bool:
    """Does the word at ``position`` open a sentence (where a capital says nothing)?"""
    before = text[:position].rstrip(" \t\"“‘'([")
    return not before or before[-1] in ".!?:\n"


def _written_in_lower_case(word: str) -> bool:
    """A common word, which news also writes in lower case inside a sentence (a person's name is not)."""
    return _capital_habits().get(word, "cap") != "cap"


def _address(text: str, words: Sequence[_Word], index: int, *, malay: bool = False) -> bool:
    """Is ``words[index]`` a form of address, a degree or a rank before the rest of a person's name? In Malay text
    "Puan" (Mrs) is one, though not in "Puan Sri", a wife's honour; in Indonesian it is a name ("Puan Maharani")."""
    word = words[index].text.lower().rstrip(".")
    if word in FORCE_MARKS:  # after a rank, inside the span or just before it
        before = text[max(0, words[index].start - 30):words[index].start].split()
        return index > 0 or (bool(before) and before[-1].lower().rstrip(".") in TITLES | HONORIFICS)
    if word == "puan":
        return malay and not text.startswith("Puan Sri", words[index].start)
    return word in HONORIFICS or (word in DEGREES and len(words) - index > 2)


# English words that open a sentence and never a name there: conjunctions, prepositions, adverbs, and a link's
# "Visit". Not "All" (All Blacks), "Just" (Just Eat), "Now" (Now TV), "Yes" (Yes Bank), "No" (No 10 Downing Street),
# "Our" (Our Lady), nor pronouns ("He Jianxiong": He is a surname).
_ENGLISH_SENTENCE_OPENERS = frozenset({
    "about", "according", "across", "after", "against", "also", "although", "among", "and", "another", "around",
    "as", "at", "because", "before", "between", "both", "but", "by", "despite", "during", "each", "even",
    "every", "for", "from", "however", "if", "in", "instead", "like", "maybe", "meanwhile", "or", "perhaps",
    "since", "so", "still", "thanks", "then", "though", "through", "to", "toward", "towards", "under", "unless",
    "unlike", "until", "visit", "when", "whether", "while", "with", "within", "without", "yet"})


def _without_opening_word(text: str, span: EntitySpan, language: str | None) -> EntitySpan:
    """A sentence's first word is no part of the name after it, in English text, where a capital says nothing
    there ("But Instagram", "Like Instagram", "And Louisiana Democrats", "Visit Business Insider")."""
    words = _words_of(text, span.start, span.end)
    if language == "en" and len(words) > 1 and words[0].text.lower() in _ENGLISH_SENTENCE_OPENERS \
            and words[1].text[:1].isupper() and _opens_a_sentence(text, span.start):
        return _span(text, words[1].start, span.end, span.label)
    return span


def _without_weekday(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """The day after a name is the dateline's or the report's, not the name's ("Jakarta Rabu", "Wiranto Selasa",
    "the House Intelligence Committee Tuesday"). Not a market named after its day ("Pasar Minggu"), a name the
    tables know, nor Sheffield Wednesday, the club."""
    words = _words_of(text, span.start, span.end)
    if len(words) > 1 and words[-1].text.lower() in WEEKDAYS and words[-2].text.lower() not in _NAMED_AFTER_A_DAY \
            and table.place(span.text, fuzzy=False) is None and table.organisation(span.text) is None:
        return _span(text, span.start, words[-2].end, span.label)
    return span


def _edges(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan]:
    """A bracket the name opened is closed ("Komisi Pemberantasan Korupsi (KPK" tagged up to its ")"); a rank
    that belongs to the next person's name is not a place's or an organisation's: at its end ("Simpang Kramat
    Ipda") or before the person ("Jakarta Selatan Kombes Mardiaz Kusin Dwihananto", a place and a person); and a
    rank opens a person's name whatever the span was tagged ("Aiptu Sutisna")."""
    if span.text.count("(") > span.text.count(")"):
        closing = _CLOSING_BRACKET.match(text, span.end)
        if closing is not None:
            return [_span(text, span.start, closing.end(), span.label)]
    if span.label == "PER":
        return [span]
    words = _words_of(text, span.start, span.end)
    # "Polda Metro Jaya Komisaris Besar" before "Argo Yuwono", "Bank Negara Malaysia Datuk Seri" before a name
    spelt_out = _SPELT_OUT_RANK_AT_END.search(span.text) or (
        _HONOURS_AT_END.search(span.text) if _NAME_AFTER.match(text, span.end) else None)  # not "Tanjung Datuk,"
    if len(words) > 1 and (words[-1].text.lower() in RANKS or spelt_out is not None):
        end = words[-2].end if spelt_out is None else span.start + spelt_out.start()
        return [_span(text, span.start, end, span.label)]
    opened = _opened_by_rank_or_party(text, span, words, table)
    if opened is not None:
        return opened
    inner = next((index for index in range(1, len(words)) if words[index].text.lower() in POLICE_RANKS), None)
    if inner is None:
        return [span]
    person = _ranked_person(text, words[inner:], table)
    return [_span(text, span.start, words[inner - 1].end, span.label), *([person] if person is not None else [])]


def _opened_by_rank_or_party(text: str, span: EntitySpan, words: Sequence[_Word],
                             table: NameTable) -> list[EntitySpan] | None:
    """"Aiptu Sutisna" or "Republican Phil Bryant" tagged an organisation, "Pak Sultan" a place: the person after the
    rank, the party's adjective or the form of address. None when no such word opens the span."""
    if len(words) > 1 and words[0].text.lower() in _ADDRESS_OPENERS and words[1].text[:1].isupper():
        return [_span(text, words[1].start, span.end, "PER")]  # "Pak Sultan", "Bu Risma": whoever they are
    if len(words) > 1 and words[0].text.lower() in RANKS:
        person = _ranked_person(text, words, table)
        return [person] if person is not None else [span]  # not "Kolonel Laut (P)", a rank alone
    if len(words) > 2 and words[0].text.lower() in PARTY_WORDS and _looks_like_a_name(words[1:], table):
        return [_span(text, words[1].start, span.end, "PER")]
    return None


def _ranked_person(text: str, words: Sequence[_Word], table: NameTable) -> EntitySpan | None:
    """The person's name after the rank that opens ``words``, if a name follows it."""
    person = _without_leading_titles(text, _span(text, words[0].start, words[-1].end, "PER"), table)
    name = _words_of(text, person.start, person.end)
    if person.start > words[0].start and _looks_like_a_name(name, table) and max(len(w.text) for w in name) > 2 \
            and not all(word.text.lower() in FORCE_MARKS for word in name):  # "Polda Jabar Kombes Pol"
        return person
    return None


def _dateline_place(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """A place in a dateline's capitals is a place, whatever else the name may be: "JAKARTA (Reuters) -" tagged an
    organisation, "BARCELONA, Jawapos.com -" a club."""
    if span.label == "LOC" or not span.text.isupper() or not _DATELINE_AFTER.match(text, span.end):
        return span
    if (span.start and text[span.start - 1] != "\n") or table.place(span.text, fuzzy=False) is None:
        return span
    return _span(text, span.start, span.end, "LOC")


def _ap_state(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """"LA CROSSE, Wis. (AP)": a US state as AP style abbreviates it is that state, a place, full stop included
    (the recogniser tagged "Wis" a person)."""
    if not text.startswith(".", span.end - 1) and not text.startswith(".", span.end):
        return span
    dotted = text[span.start:span.end + 1] if text.startswith(".", span.end) else span.text
    if table.ap_state(dotted) is None:
        return span
    return _span(text, span.start, span.start + len(dotted), "LOC")


def _with_whole_honorific(text: str, span: EntitySpan) -> EntitySpan:
    """A Malaysian honorific is kept whole, as the titles before a name are ("Tan Sri Muhyiddin Yassin"): a person's
    span that opens with its second word takes in its first ("Tan Sri Razarudin Husain" tagged from "Sri")."""
    if span.label != "PER" or not span.text.startswith(("Sri ", "Seri ")):
        return span
    before = _HONORIFIC_FIRST_WORD.search(text, max(0, span.start - 8), span.start)
    return _span(text, before.start(1), span.end, span.label) if before is not None else span


def _with_hyphenated_given_name(text: str, span: EntitySpan) -> EntitySpan:
    """A Korean given name written with a hyphen is all the person's ("Shin Tae-yong", "Son Heung-min", tagged up to
    the hyphen); not an Indonesian or Malay clitic after a name ("Jokowi-nya")."""
    if span.label != "PER" or text[span.end:span.end + 1] != "-":
        return span
    tail = _HYPHENATED_TAIL.match(text, span.end)
    if tail is None or tail.group(1) in _CLITICS or tail.group(1) == span.text.lower():
        return span  # nor a one-word name said twice ("Snap-snap"), though a Batak name is ("Butar-butar")
    return _span(text, span.start, tail.end(), span.label)


def _national_team(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """"Timnas Indonesia U-23": a country after "Timnas" (the national team, as its name) is the team, an
    organisation, with its age group; the recogniser tags the country a place at a sentence's start and leaves the
    age group out. In lower case, "timnas Indonesia" names the country's team by its country, a place, as before."""
    before = _word_before(text, span.start)
    if before == "Timnas" and span.label == "LOC" and table.country(span.text) is not None:
        span = _span(text, text.rfind(before, 0, span.start), span.end, "ORG")
    if not span.text.startswith("Timnas "):
        return span
    age_group = _AGE_GROUP.match(text, span.end)
    return _span(text, span.start, age_group.end(), "ORG") if age_group is not None else span


def _with_balinese_article(text: str, span: EntitySpan) -> EntitySpan:
    """A Balinese name keeps the "I" or "Ni" before its birth-order name ("I Made Mudharta", "Ni Luh Putu ...")."""
    if span.label != "PER" or _BALINESE_BIRTH_ORDER.match(span.text) is None:
        return span
    before = _BALINESE_ARTICLE.search(text, max(0, span.start - 4), span.start)
    return _span(text, before.start(1), span.end, span.label) if before is not None else span


def _with_the(text: str, span: EntitySpan) -> EntitySpan:
    """An organisation or a work with the capitalised "The" that opens its name inside a sentence ("told The
    Sunday Times", "signed to The Stooges"). At a sentence's start "The" is just a capital: not taken. A
    lower-case "the" is never part of a name ("the Netherlands")."""
    if span.text.startswith("the ") and len(span.text) > len("the "):
        return _span(text, span.start + len("the "), span.end, span.label)
    start = span.start - len("The ")
    if span.label not in {"ORG", "MISC"} or start < 1 or text[start - 1 : span.start] not in {" The ", "\tThe "}:
        return span
    gap = text[:start]
    before = gap.rstrip()
    if not before or before[-1] in ".!?" or "\n" in gap[len(before):]:
        return span
    return _span(text, start, span.end, span.label)


def _common_word(text: str, span: EntitySpan, table: NameTable) -> bool:
    """A span without a capital letter or a digit ("kota", the word for city, tagged a place) names nothing,
    unless it is an outlet or app written in lower case ("detikcom"). Places are written with a capital: "kota"
    is also a city in India. Nor does a day of the week ("Khamis", Malay for Thursday, tagged a person), a month,
    or a month that is also a name where it stands in a date ("11 Mac 2020"), nor a date after one word
    ("Setakat 28 Mac", Malay for "as of 28 March", tagged an organisation)."""
    lower = span.text.lower()
    if lower in WEEKDAYS or lower in MONTHS:
        return True
    dated = _DATED.fullmatch(lower)
    if dated is not None and dated.group(1) in _ALL_MONTHS:
        return True
    if lower in NAME_LIKE_MONTHS and (_DAY_BEFORE.search(text, max(0, span.start - 16), span.start)
                                      or _YEAR_AFTER.match(text, span.end)):
        return True
    return not any(char.isupper() or char.isdigit() for char in span.text) and table.organisation(span.text) is None


def _an_event(span: EntitySpan, language: str | None) -> bool:
    """"Piala Dunia", "Sukan Olimpik" (Malay for the Olympic Games): Indonesian and Malay text tag no events."""
    first = span.text.split()[0].lower() if span.text.strip() else ""
    return first in (MALAY_EVENT_FIRST_WORDS if language == "ms" else
                     EVENT_FIRST_WORDS if language in INDONESIAN_PRESS_LANGUAGES else ())


def _office_alone(span: EntitySpan) -> bool:
    """"Vice President" or "Mendagri" tagged a person names an office, not its holder."""
    words = span.text.lower().split()
    return span.label == "PER" and all(word in OFFICE_TITLES or word in DEPUTY_WORDS for word in words)


def _without_title_abbreviation(text: str, span: EntitySpan) -> EntitySpan | None:
    """"Georgia Gov. Brian Kemp" tagged "Georgia Gov" is the place Georgia: the abbreviated title (AP style)
    that follows a state or a party is no part of its name. None when nothing else is left."""
    head, _, last = span.text.rpartition(" ")
    if not head or last.lower() not in TITLE_ABBREVIATIONS or not text.startswith(".", span.end):
        return span
    head = head.rstrip()
    return _span(text, span.start, span.start + len(head), span.label) if head else None


def _span(text: str, start: int, end: int, label: str) -> EntitySpan:
    return EntitySpan(text[start:end], label, start, end)


@lru_cache(maxsize=4096)
def _words_of(text: str, start: int, end: int) -> tuple[_Word, ...]:
    """The words of ``text[start:end]``; the rules ask for a span's words several times (a string's hash is kept)."""
    return tuple([_Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text, start, end)])


# A company's name, not a person's: a capital inside a word ("McMoran", "GrabPay"), a dot or a digit ("Jurnal.id",
# "C2live").
_COMPANY_SHAPED = re.compile(r"^.+[A-Z]|[.\d]")


# -- 1. furniture


def _in_credit(text: str, span: EntitySpan) -> bool:
    """Whether the span sits inside a parenthesised photo or source credit on its line."""
    before = text[max(0, span.start - _CREDIT_REACH): span.start]
    opening = before.rfind("(")
    if opening < 0 or ")" in before[opening:] or "\n" in before[opening:]:
        return False
    closing = text.find(")", span.end, span.end + _CREDIT_REACH)
    if closing < 0 or "\n" in text[span.end:closing]:
        return False
    return bool(_CREDIT.match(before[opening + 1:]))


# -- 2. boundaries


def _with_abbreviation_and_place(text: str, spans: list[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """"Kementerian Luar Negeri" + " (Kemlu) Rusia" is one organisation's name, and so is "Kementerian Luar Negeri
    (Kemlu)" + " Rusia"."""
    result: list[EntitySpan] = []
    swallowed_until = -1
    for span in spans:
        if span.start < swallowed_until:
            continue
        found = None
        if span.label == "ORG":
            pattern = _PLACE_AFTER if _ENDS_WITH_ABBREVIATION.search(span.text) else _ABBREVIATION_THEN_PLACE
            found = pattern.match(text, span.end)
        if found is not None:
            place = found.group(1)
            if table.country(place) is None and " " in place:
                place = place.split(" ")[0]
            if table.country(place) is not None:
                end = found.start(1) + len(place)
                result.append(_span(text, span.start, end, "ORG"))
                swallowed_until = end
                continue
        result.append(span)
    return result


def _with_defined_abbreviation(text: str, spans: list[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """"Bursa Efek Indonesia (BEI)": in Indonesian and Malay news the abbreviation an organisation's name defines
    is part of its mention, as idner-news-2k tags it (and kabar_enrich.canonical reads it); the abbreviation is
    no second mention. Not a place in brackets ("Chan Peng Soon (Malaysia)")."""
    result: list[EntitySpan] = []
    for span in spans:  # in text order
        if result and span.end <= result[-1].end:
            continue  # the abbreviation, tagged too, is inside the name's mention now
        # one word is no name an abbreviation is made of: "RI (KBRI)" tagged from "Kedutaan Besar RI (KBRI)"
        defines = span.label == "ORG" and not {"(", ")"} & set(span.text) and len(span.text.split()) > 1
        found = _DEFINED_BY.match(text, span.end) if defines else None
        defined = found is not None and table.place(found.group(1), fuzzy=False) is None
        result.append(_span(text, span.start, found.end(), "ORG") if found is not None and defined else span)
    return result


def _people(spans: Sequence[EntitySpan]) -> set[str]:
    """Keys of the people the article names in full."""
    return {key for span in spans if span.label == "PER" and " " in (key := name_key(span.text))}


def _split(text: str, span: EntitySpan, table: NameTable, people: set[str],
           tagged_people: frozenset[str] = frozenset()) -> list[EntitySpan]:
    if _BREAK.search(span.text):
        return [piece for start, end in _lines(span)
                for piece in _split(text, _piece_type(text, _span(text, start, end, span.label), table,
                                                      tagged_people), table, people, tagged_people)]
    parts = _at_spaced_dash(text, span, table)
    if parts is None:
        parts = _at_common_word(text, span)  # [] where nothing of a person's span is left: "Kerana kebolehan"
    if parts is None:
        parts = _at_degree(text, span)
    if parts is not None:
        return [piece for part in parts for piece in _split(text, part, table, people, tagged_people)]
    words = _words_of(text, span.start, span.end)
    if not words or table.place(span.text, fuzzy=False) is not None or table.organisation(span.text) is not None:
        return [span]
    glued = _unglued(text, span, words, table, people) or _hyphenated_places(text, span, table)
    if glued is not None:
        return glued
    if len(words) < 2:
        return [span]
    return _ruler_and_realm(text, span, words, table) or _club_and_player(text, span, words, table) \
        or _split_place_and_person(text, span, words, table, people) \
        or _before_a_named_person(text, span, words, table, people) or [span]


def _club_and_player(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable) -> list[EntitySpan] | None:
    """After a word for a player, a club named by its city and the player's name: "pemain Liverpool Alisson Becker",
    "bek Manchester United Marouane Fellaini"; or the player's country and name. Not a place that goes on ("Paris
    Saint Germain"). A coach's likewise ("Bos Sunderland Jack Ross")."""
    if _word_before(text, span.start).lower() not in PLAYER_WORDS | COACH_WORDS:
        return None
    size = _place_at(text, words, 0, table)
    if not size:
        return None
    country = table.country(_join(text, words[:size])) is not None  # a national team's player: the country, a place
    if not country and size < len(words) and (words[size].text in CLUB_LAST_WORDS or words[size].text == "City"):
        size += 1
    rest = words[size:]
    if not _PERSON_WORDS[0] <= len(rest) <= _PERSON_WORDS[1] or rest[0].text in _PLACE_GOES_ON \
            or not _looks_like_a_name(rest, table):
        return None
    return [_span(text, span.start, words[size - 1].end, "LOC" if country else "ORG"),
            _span(text, rest[0].start, span.end, "PER")]


def _before_a_named_person(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable,
                           people: set[str]) -> list[EntitySpan] | None:
    """An organisation's or a place's span that ends with a person the article names on their own: the body and the
    person ("Persib Bandung Vladimir Vujovic", "IDN Media Winston Utomo", where the article also tags "Vladimir
    Vujovic" and "Winston Utomo"). Not a place named after a person ("Jalan Dewi Sartika"), nor after a lone word
    that is no name of its own ("Partai Puea Thai")."""
    if span.label not in ("ORG", "LOC") or not people or len(words) < 3:
        return None
    index = next((index for index in range(1, len(words) - 1) if name_key(_join(text, words[index:])) in people), 0)
    if not index or not _a_body_then_a_person(text, words[:index], words[index:], table):
        return None
    person = _span(text, words[index].start, span.end, "PER")
    if index == 1 and words[0].text.lower() in TITLES:
        return [person]
    return [_span(text, span.start, words[index - 1].end, span.label), person]


def _a_body_then_a_person(text: str, head: Sequence[_Word], tail: Sequence[_Word], table: NameTable) -> bool:
    """Do ``head`` and ``tail`` read as a body's name and a person's, one after the other?"""
    first, last = head[0].text, head[-1].text
    if text[head[-1].end:tail[0].start] != " " or not last[0].isupper() or last.lower() in NAME_PARTICLES \
            or any(word.text.lower() in _NAMED_AFTER_PEOPLE | _NAMED_AFTER_PEOPLE_TOO for word in head):
        return False  # "Brighton and Hove Albion", "Termas de Rio Hondo", "Terminal 3 Bandara Soekarno Hatta"
    if not _looks_like_a_name(tail, table) or any(char.isdigit() for word in tail for char in word.text):
        return False  # the article's "person" is no name: "Kantor DPP Partai Nasdem", "Xiaomi Mi A1"
    return len(head) > 1 or (first.lower() not in _KINDS_OF_PLACE and (
        table.organisation(first) is not None or table.place(first, fuzzy=False) is not None))


def _ruler_and_realm(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable) -> list[EntitySpan] | None:
    """"Sultan Selangor Sultan Sharafuddin Idris Shah" or "(Raja) Perlis Tuanku Syed Sirajuddin" tagged one person:
    the ruler's state, a place, then the ruler, whose title is part of the name."""
    if span.label != "PER" or len(words) < 3:
        return None
    first = 1 if words[0].text.lower() in RULER_TITLES else 0  # the recogniser may leave the first title out
    size = _place_at(text, words, first, table)
    rest = words[first + size:]
    if not size or len(rest) < 2 or rest[0].text.lower() not in RULER_TITLES:
        return None
    return [_span(text, words[first].start, words[first + size - 1].end, "LOC"),
            _span(text, rest[0].start, rest[-1].end, "PER")]


def _at_common_word(text: str, span: EntitySpan) -> list[EntitySpan] | None:
    """A span cut at a lower-case word inside it that news writes in lower case only, a verb or a preposition no
    name holds ("PSMS Medan menjadi Runner up Liga Indonesia", "BlackBerry Motion dengan Android"), or at a Malay
    function word the Indonesian lexicon lacks, also at its end ("Palu iaitu"); not at the words that join a
    name's parts ("Kementerian Pemuda dan Olahraga", "University of California")."""
    person = span.label == "PER"
    if _LOWER_WORD.search(span.text) is None and not (person and span.text[:1].islower()):
        return None
    words = _words_of(text, span.start, span.end)
    cuts = [index for index in range(0 if person else 1, len(words))
            if words[index].text.isalpha() and words[index].text.islower() and words[index].text not in NAME_JOINERS
            and ((index and index < len(words) - 1 and _capital_habits().get(words[index].text) == "low")
                 or words[index].text in MALAY_FUNCTION_WORDS
                 or (person and _common_word_in_a_name(text, words[index])))]
    if not cuts:
        return None
    pieces, first = [], 0
    for cut in [*cuts, len(words)]:
        if first < cut:
            pieces.append(_span(text, words[first].start, words[cut - 1].end, span.label))
        first = cut + 1
    return [piece for piece in pieces if any(char.isupper() for char in piece.text)
            and not (person and _common_word_opening_a_sentence(text, piece))]


def _common_word_opening_a_sentence(text: str, piece: EntitySpan) -> bool:
    """What is left of a person's span cut at a common word may be a common word too, capitalised as a sentence's
    first ("Kerana kebolehan", "Separuh hayat rhACE2" in Malay sentences): no entity."""
    word = piece.text.lower()
    return " " not in word and _opens_a_sentence(text, piece.start) and (
        word in MALAY_FUNCTION_WORDS or word in _malay_lower_case_words()
        or _capital_habits().get(word) in ("low", "somecap"))


def _common_word_in_a_name(text: str, word: _Word) -> bool:
    """A lower-case word no person's name holds: one news writes in lower case, or a verb by its prefix ("Luhut minta
    Susi", "Trump menamakan Kim", "rumah Setnov" tagged one person). Not a word after a hyphen ("Son Heung - min"),
    nor a surname written in lower case, unknown to the lexicon ("Ridwan kamil")."""
    if text[max(0, word.start - 2):word.start].strip() == "-":
        return False
    return _capital_habits().get(word.text) in ("low", "somecap") or word.text in _malay_lower_case_words() \
        or _VERB_SHAPE.fullmatch(word.text) is not None


def _at_degree(text: str, span: EntitySpan) -> list[EntitySpan] | None:
    """An organisation's or a place's span cut where a degree opens a person's name after a comma, a bracket or a
    lower-case word ("University of Florida, Dr. Jonathan Day", "Universitas Cambridge pimpinan Dr. Sander van der
    Linden": the university and the person), or where a degree ends it ("Majelis Ulama Indonesia (MUI) KH",
    "Kecamatan Cisurupan KH"). Not a place or an institution named after a titled person ("RSUD dr Soegiri",
    "Jalan Ir. H. Juanda")."""
    if span.label == "PER":
        return None
    words = _words_of(text, span.start, span.end)
    degree = next((index for index in range(1, len(words)) if words[index].text.lower() in _NAME_OPENING_DEGREES), None)
    if degree is None or words[degree - 1].text.lower() in _NAMED_AFTER_PEOPLE:
        return None
    gap, rest = text[words[degree - 1].end:words[degree].start], words[degree + 1:]
    if rest and not ("," in gap or ")" in gap or words[degree - 1].text.islower()):
        return None
    head = list(itertools.dropwhile(lambda word: word.text.islower(), reversed(words[:degree])))[::-1]
    if not head:
        return None
    end = head[-1].end
    if head[-1] is words[degree - 1] and ")" in gap:  # the abbreviation's closing bracket stays with it
        end += gap.index(")") + 1
    person = [_span(text, rest[0].start, rest[-1].end, "PER")] if rest else []
    return [_span(text, head[0].start, end, span.label), *person]


def _at_spaced_dash(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan] | None:
    """A span cut at its first spaced dash after a site's name or between two places (see ``_SPACED_DASH``)."""
    dash = _SPACED_DASH.search(span.text)
    if dash is None:
        return None
    left, right = span.text[:dash.start()].strip(), span.text[dash.end():].strip()
    left_end, right_start = span.start + dash.start(), span.start + dash.end()
    outlet = table.organisation(left) if left else None
    if left and right and (_SITE.fullmatch(left) or (outlet is not None and outlet.kind in ("media", "agency"))):
        # a dateline's outlet and the story's first words: "Jakarta, IDN Times – Rusia menyebut ..."
        label = "LOC" if table.country(right) is not None else span.label
        return [_span(text, span.start, left_end, "ORG"), _span(text, right_start, span.end, label)]
    city = table.place(left, fuzzy=False) if left.isupper() else None
    if left and right and city is not None and city.kind == "city":  # a dateline: "KUALA LUMPUR - Tim ..."
        return [_span(text, span.start, left_end, "LOC"), _span(text, right_start, span.end, span.label)]
    if left and right and table.place(left, fuzzy=False) is not None and table.place(right, fuzzy=False) is not None:
        return [_span(text, span.start, left_end, "LOC"), _span(text, right_start, span.end, "LOC")]
    return None


def _organisation_then_person(text: str, span: EntitySpan, table: NameTable, defined: set[str],
                              first_names: frozenset[str]) -> list[EntitySpan]:
    """ "Aftech Niki Luhur": an organisation's abbreviation (one the article defines, or one the tables know) run
    into the person's name after it, as a job title writes them ("Ketua Umum Aftech Niki Luhur"). Tagged a person,
    the rest must read as a name; tagged an organisation, the article must also tag a person whose name starts with
    its first word ("Niki"; "Polda Metro Jaya" and "Google Play Store" stay whole). A rest with a digit or a word in
    capitals is a product, not a person: "Lenovo K8 Note" is the company Lenovo."""
    words = _words_of(text, span.start, span.end)
    if span.label not in {"PER", "ORG"} or len(words) < 3:
        return [span]
    head, rest = words[0].text, words[1:]
    known = name_key(head) in defined or table.organisation(head) is not None
    if not known or table.place(head, fuzzy=False) is not None or not _looks_like_a_name(rest, table):
        return [span]
    if span.label == "ORG" and name_key(rest[0].text) not in first_names:
        return [span]
    if any(char.isdigit() for word in rest for char in word.text) \
            or any(word.text.isupper() and len(word.text) > 1 for word in rest):
        return [_span(text, span.start, words[0].end, "ORG")]  # a product, not a person: "Lenovo K8 Note"
    return [_span(text, span.start, words[0].end, "ORG"), _span(text, rest[0].start, span.end, "PER")]


def _piece_type(text: str, piece: EntitySpan, table: NameTable, tagged_people: frozenset[str]) -> EntitySpan:
    """A piece cut from a longer span had that span's type, which its other piece may have decided ("CNN
    Indonesia - - Marouane Fellaini", an organisation): a piece that reads as a person's name, one of whose
    words the article tags as a person elsewhere ("Fellaini"), is a person."""
    words = _words_of(text, piece.start, piece.end)
    if piece.label == "PER" or not _PERSON_WORDS[0] <= len(words) <= _PERSON_WORDS[1] \
            or table.organisation(piece.text) is not None or not _looks_like_a_name(words, table):
        return piece
    named = any(name_key(word.text) in tagged_people for word in words)
    return EntitySpan(piece.text, "PER", piece.start, piece.end) if named else piece


def _lines(span: EntitySpan) -> list[tuple[int, int]]:
    """The pieces of a span between its breaks (see ``_BREAK``), as offsets into the text."""
    pieces, offset = [], 0
    for found in [*_BREAK.finditer(span.text), None]:
        end = found.start() if found is not None else len(span.text)
        piece = span.text[offset:end]
        stripped = piece.strip()
        if stripped:
            start = span.start + offset + piece.index(stripped)
            pieces.append((start, start + len(stripped)))
        if found is not None:
            offset = found.end()
    return pieces


def _known(name: str, table: NameTable, people: set[str]) -> bool:
    return (table.place(name, fuzzy=False) is not None or table.organisation(name) is not None
            or name_key(name) in people)


def _unglued(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable,
             people: set[str]) -> list[EntitySpan] | None:
    """"KorutRusia" -> "Korut", "Rusia" when every glued part is a known name; None when nothing is."""
    last = words[-1]
    bounds = [0, *(m.start() for m in _GLUE.finditer(last.text)), len(last.text)]
    parts = [(last.start + a, last.start + b) for a, b in itertools.pairwise(bounds)]
    if len(parts) < 2 or not all(_known(text[a:b], table, people) for a, b in parts):
        return None
    pieces = [_span(text, span.start, words[-2].end, span.label)] if len(words) > 1 else []
    for start, end in parts:
        label = "LOC" if table.place(text[start:end], fuzzy=False) is not None else span.label
        pieces.append(_span(text, start, end, label))
    return pieces


def _joined_names(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """Side by side, two spans can be one name. Two a hyphen glues together are one ("Bandara Soekarno-Hatta", the
    airport, tagged a place and a person; "Prabowo-Sandi", a ticket), typed as the longer of the two, unless both are
    known places, which ``_hyphenated_places`` split ("US-China"). A street and the person it is named after are the
    street ("Jalan Tuanku" and "Abdul Rahman": Jalan Tuanku Abdul Rahman)."""
    ordered = sorted(spans, key=lambda span: span.start)
    out: list[EntitySpan] = []
    for span in ordered:
        before = out[-1] if out else None
        if before is not None and text[before.end:span.start] == " " and span.label == "PER" \
                and before.label == "LOC" and before.text.split()[0].lower() in STREET_OPENERS:
            out[-1] = _span(text, before.start, span.end, "LOC")
            continue
        if (before is None or text[before.end:span.start] != "-"
                or (table.place(before.text, fuzzy=False) and table.place(span.text, fuzzy=False))):
            out.append(span)
            continue
        longer = before if len(before.text.split()) >= len(span.text.split()) else span
        out[-1] = _span(text, before.start, span.end, longer.label)
    return out


def _hyphenated_places(text: str, span: EntitySpan, table: NameTable) -> list[EntitySpan] | None:
    """"US-China", "Texas-Mexico": places joined by a hyphen, as a modifier writes them ("US-China trade talks"), are
    each a place; None unless every part is a known place ("Guinea-Bissau" is one country, known whole)."""
    parts = span.text.split("-")
    if len(parts) < 2 or " " in span.text or not all(table.place(part, fuzzy=False) for part in parts):
        return None
    pieces, start = [], span.start
    for part in parts:
        pieces.append(_span(text, start, start + len(part), "LOC"))
        start += len(part) + 1
    return pieces


def _split_place_and_person(text: str, span: EntitySpan, words: Sequence[_Word], table: NameTable,
                            people: set[str]) -> list[EntitySpan] | None:
    """Where a known place meets a person or another place inside one span."""
    if words[0].text.lower() in GOVERNMENT_OF and name_key(_join(text, words[1:])) in people:
        return [_span(text, words[1].start, words[-1].end, "PER")]
    if len(words) > 2 and words[0].text == "Kota" and _word_before(text, span.start).lower() == "wali":
        # "Wali Kota Jakarta Selatan Tri Kurniadi", tagged from "Kota" on: the mayor's office, then the city
        words = words[1:]
        span = _span(text, words[0].start, span.end, span.label)
    for index in range(len(words) - 1):
        size = _place_at(text, words, index, table)
        if not size or (size == 1 and _a_city(words[index].text, table)
                        and city_as_given_name(words[index].text, [word.text for word in words[index + 1:]])):
            continue
        if table.country(_join(text, words[index:index + size])) is None and index + size < len(words) \
                and table.place(_join(text, words[index + size:]), fuzzy=False) is None \
                and not (index == 0 and _office_place_then_person(text, span, words[size:])):
            # only a country stands before a person's name ("Rusia Vladimir Putin"), or the place of an office
            # named before it ("Ketua Menteri Pulau Pinang Chow Kon Yeow", tagged one place)
            continue
        rest = words[index + size:]
        if not rest:
            return None
        place = _span(text, words[index].start, words[index + size - 1].end, "LOC")
        # "Parti Komunis China Xi Jinping" tagged a person: a body named after its country, then the person
        named_body = not INSTITUTION_WORDS.isdisjoint(word.text.lower() for word in words[:index])
        head = [_span(text, span.start, place.end, "ORG" if named_body else span.label)] if index else [place]
        # Not a city by an alternate name: "Aceh Besar" is one regency, though GeoNames gives Bechar "Besar".
        if index == 0 and span.label == "LOC" and table.own_place(_join(text, rest)) is not None \
                and _place_at(text, rest, 0, table):  # not "Jayapura Kota", the city (of Jayapura regency)
            return [place, _span(text, rest[0].start, rest[-1].end, "LOC")]
        if (_person_follows(text, span, rest, table, people) and (index == 0 or span.label == "ORG" or named_body)) \
                or (index == 0 and len(rest) == 1 and _heads_an_area(text, span.start)
                    and _office_place_then_person(text, span, rest) and _one_word_name(rest[0], place, table)):
            # "Wakil Gubernur Jawa Tengah Rustriningsih": a one-word name after the area its office governs
            return [*head, _span(text, rest[0].start, rest[-1].end, "PER")]
    return None


def _join(text: str, words: Sequence[_Word]) -> str:
    return text[words[0].start: words[-1].end] if words else ""


def _a_city(word: str, table: NameTable) -> bool:
    place = table.place(word, fuzzy=False)
    return place is not None and place.kind == "city"


def _place_at(text: str, words: Sequence[_Word], index: int, table: NameTable) -> int:
    """How many words from ``index`` on name a known place (longest first); 0 when none does. A word that says what
    kind of place follows or precedes is none by itself ("Kota Cilacap", "Jayapura Kota": Kota is also a city in
    India, and IndoSum had 34 articles with "Kota" cut off as that place)."""
    for size in range(min(_MAX_PLACE_WORDS, len(words) - index), 0, -1):
        if size == 1 and words[index].text[0].isupper() and words[index].text.lower() in PLACE_KIND_WORDS:
            return 0  # in lower case it is cut off, then dropped as a common word ("kota Basel": Basel)
        if table.place(_join(text, words[index:index + size]), fuzzy=False) is not None:
            return size
    return 0


def _person_follows(text: str, span: EntitySpan, rest: Sequence[_Word], table: NameTable, people: set[str]) -> bool:
    """Whether ``rest`` (after a place) reads as a person's name, and something says it is one."""
    low, high = _PERSON_WORDS
    if not low <= len(rest) <= high or not _looks_like_a_name(rest, table):
        return False
    name = name_key(_join(text, rest))
    return span.label == "PER" or name in people or _titled(text, span.start)


def _looks_like_a_name(words: Sequence[_Word], table: NameTable) -> bool:
    """Capitalised words, none a title, an organisation's word or a country, not a place as a whole.

    A word may be a city's name: Vladimir is one, and so is Sergei Lavrov's first name elsewhere."""
    joined = " ".join(word.text for word in words)
    return table.place(joined, fuzzy=False) is None and all(
        word.text[:1].isupper() and word.text.lower() not in ORGANISATION_WORDS and word.text.lower() not in TITLES
        and table.country(word.text) is None and table.organisation(word.text) is None for word in words)


def _office_place_then_person(text: str, span: EntitySpan, rest: Sequence[_Word]) -> bool:
    """Does the place that opens ``span`` belong to the office named before it, and the rest to its holder
    ("Ketua Menteri Pulau Pinang Chow Kon Yeow", "Gubernur Sulawesi Tenggara Nur Alam")? Not when the rest goes on
    with the place's name ("Jakarta Utara Husein Murad") or names a body ("Madinah Almunawaroh Development
    Authority")."""
    return span.label in ("LOC", "PER") and bool(rest) and rest[0].text.lower() not in COMPASS_WORDS \
        and all(word.text.lower() not in INSTITUTION_WORDS for word in rest) and _titled(text, span.start)


def _heads_an_area(text: str, start: int) -> bool:
    """Whether the office just before ``start`` governs an area ("Gubernur", "Bupati", "Wali Kota"), whose name comes
    before the holder's, not a coach's or a minister's."""
    words = _two_words_before(text, start)
    return bool(words) and (words[-1] in AREA_OFFICES or words in _TWO_WORD_AREA_OFFICES)


def _one_word_name(word: _Word, place: EntitySpan, table: NameTable) -> bool:
    """Is ``word``, after ``place``, a one-word name ("Rustriningsih"), and the place an area by its own name? Not a
    Roman numeral ("Raja George VI"), nor after a city ("Presiden Vladimir Putin": Vladimir is a city's own name,
    and "Ahmad", in "Presiden Ahmad Yani", an alternate one of Al Ahmadi's)."""
    area = table.own_place(place.text)
    return (area is not None and area.kind in _GOVERNED_AREAS and not word.text.isupper()
            and _looks_like_a_name([word], table))


def _titled(text: str, start: int) -> bool:
    """Whether a title word ("Presiden", "Pemimpin") stands just before ``start``."""
    words = _two_words_before(text, start, strip=" ,")
    if words in _TWO_WORD_AREA_OFFICES:
        return True  # "Wali Kota", the mayor, "Ahli Parlimen", a member of parliament for a seat
    return bool(words) and words[-1].strip("()\"“") in TITLES


# -- 3. missed people


def _missed_people(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """"Sekretaris Dewan Keamanan Rusia Sergei Shoigu": the name after the country is a person."""
    found: list[EntitySpan] = []
    for run in _CAPITAL_RUN.finditer(text):
        words = _words_of(text, run.start(), run.end())
        title = next((index for index, word in enumerate(words) if word.text.lower() in TITLES), None)
        if title is None:
            continue
        for index in range(title + 1, len(words) - _PERSON_WORDS[0]):
            size = _country_at(text, words, index, table)
            if not size:
                continue
            rest = words[index + size:]
            if _PERSON_WORDS[0] <= len(rest) <= _PERSON_WORDS[1] and _looks_like_a_name(rest, table):
                start, end = rest[0].start, rest[-1].end
                if not any(span.start < end and start < span.end for span in spans):
                    found.append(_span(text, start, end, "PER"))
            break
    return found


def _missed_holders(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """"Wapres Boediono", "Menko Perekonomian Boediono": the name right after an office that names its own field is
    its holder's, where the recogniser passed it by (idner-news-2k tags each a person)."""
    found: list[EntitySpan] = []
    for office in _HOLDER_OFFICE.finditer(text):
        if office.group(1).lower() not in _OFFICES_BEFORE_A_HOLDER and not office.group(1).startswith("Menko "):
            continue
        run = _NAME_RUN.match(text, office.end())
        if run is None or any(span.start < run.end() and run.start() < span.end for span in spans):
            continue
        words = _words_of(text, run.start(), run.end())
        if (_looks_like_a_name(words, table) and words[0].text.lower() not in DEGREES | HONORIFICS | OFFICE_RANKS
                and _capital_habits().get(words[0].text.lower(), "cap") == "cap"
                and words[0].text.lower() not in _malay_lower_case_words()):  # "Presiden berucap", capitalised
            found.append(_span(text, run.start(), run.end(), "PER"))
    return found


def _with_chinese_names(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A Chinese name as Malaysia, Singapore and Taiwan romanise it, a known surname and two syllables ("Wong Kah Woh",
    "Nga Kor Ming", "Tan Kok Wai"), is a person where the Indonesian recogniser, which saw few, passed it by or
    found its last word only ("Woh"). Not a place ("Ho Chi Minh"), nor "Tan Sri", an honour."""
    found: list[EntitySpan] = []
    for match in _CHINESE_NAME.finditer(text):
        surname, given = match.group(1), match.group(0).split()[1:]
        if surname not in CHINESE_SURNAMES or given[0] in _HONOUR_WORDS \
                or table.place(match.group(0), fuzzy=False) is not None \
                or table.place(f"{surname} {given[0]}", fuzzy=False) is not None:
            continue
        inside = [span for span in spans if span.start < match.end() and match.start() < span.end]
        if all(span.label == "PER" and match.start() <= span.start and span.end <= match.end() for span in inside):
            found.append(_span(text, match.start(), match.end(), "PER"))
    if not found:
        return list(spans)
    kept = [span for span in spans if not any(name.start <= span.start and span.end <= name.end for name in found)]
    return sorted([*kept, *found], key=lambda span: span.start)


def _acronyms_defined_by_organisations(text: str, spans: Sequence[EntitySpan]) -> frozenset[str]:
    """The acronyms the article defines in brackets right after an organisation's name: "Jabatan Bomba dan Penyelamat
    Malaysia (JBPM)" makes every later "JBPM" that organisation. Each letter of the acronym must open a word of the
    name, in any order since names are translated ("Badan Investigasi Federal (FBI)"): "Bantuan Likuiditas Bank
    Indonesia (BLBI)", a bail-out tagged from "Bank", defines no bank."""
    if "(" not in text:
        return frozenset()
    return frozenset(acronym for span in spans if span.label == "ORG"
                     if (defined := _DEFINED_BY.match(text, span.end)) is not None
                     if set(acronym := defined.group(1)) <= {word[0] for word in re.findall(r"\w+", span.text)})


def _missed_companies_and_outlets(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A company, agency or medium the tables know, or an institution by its own one-word name ("Pentagon",
    "Kremlin", "Interpol"), written alone as one capitalised word inside a sentence, is an organisation where the
    recogniser passed it by ("Shares of Nvidia rose", "dikutip TASS", "dilansir kantor berita Antara"; 225 IndoSum
    articles gain one), and so is a ministry by its one-word abbreviation ("Kemenhub", "Kemensos"; 9 more articles).
    Not at a sentence's start (but for a ministry's abbreviation), where a capital says nothing ("Apple"), nor
    inside a longer capitalised name or before a number ("Nokia 6"), nor a two-letter word ("RT", a neighbourhood in
    Indonesian addresses), nor in a photo credit."""
    found: list[EntitySpan] = []
    for match in _SINGLE_CAPITALISED_WORD.finditer(text):
        outlet = table.organisation(match.group())
        if outlet is None or (outlet.kind not in COMPANY_AND_OUTLET_KINDS and outlet.kind != MINISTRY_KIND
                              and not (outlet.kind == INSTITUTION_KIND and outlet.name == match.group())):
            continue  # an institution by its own one-word name only: "di Pentagon", "kata Kremlin"
        start, end = match.span()
        before = _word_before(text, start)
        # A ministry's one-word abbreviation is no common word, at a sentence's start too ("Kemenhub mengeluarkan")
        opening = not before or before[-1] in ".!?:\"“‘'("
        if (opening and not (outlet.kind == MINISTRY_KIND and not _written_in_lower_case(match.group().lower()))) \
                or (before and before[0].isupper()) or any(span.start < end and start < span.end for span in spans):
            continue
        span = _span(text, start, end, "ORG")
        if not _in_credit(text, span):  # "(Foto: Kemlu Rusia via Reuters)"
            found.append(span)
    return found


def _companies_by_legal_form(text: str, spans: list[EntitySpan]) -> list[EntitySpan]:
    """A company named with its legal form is an organisation, all of its name: where the recogniser passed it by
    ("Tenaga Nasional Berhad (TNB) akan menaikkan tarif") or found part of it ("Top Glove Corporation Bhd" tagged
    from "Glove"). The name runs back from its legal form to "PT", and not over a title ("Direktur PT Bank Central
    Asia Tbk"), another acronym ("TOD PT Adhi Karya Tbk"), a word news writes only in lower case, or, where the
    recogniser found part of the name, a sentence's first word ("Saham Malayan Banking Bhd": shares, or a name?)."""
    if "Bhd" not in text and "Berhad" not in text and "Tbk" not in text:
        return spans
    out = list(spans)
    for match in _COMPANY_WITH_LEGAL_FORM.finditer(text):
        words = _words_of(text, match.start(), match.end())
        crossing = [span for span in out if span.start < match.end() and match.start() < span.end]
        first = _company_name_start(text, words, bool(crossing))
        start, end = words[first].start, match.end()
        if _LEGAL_FORM_AT_END.fullmatch(text[start:end]) is not None:
            continue  # the legal form alone
        crossing = [span for span in crossing if span.start < end and start < span.end]
        if all(start <= span.start and span.end == end for span in crossing):  # none, or the name's tail
            out = [span for span in out if span not in crossing] + [_span(text, start, end, "ORG")]
    return out


def _known_organisations(text: str, spans: list[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A name of two to four capitalised words that the tables know as an organisation is one, where the recogniser
    passed it by ("Perikatan Nasional", a coalition) or found a place inside it ("Bursa Malaysia" tagged
    "Malaysia")."""
    out = list(spans)
    for run in _CAPITALISED_RUN.finditer(text):
        words = _words_of(text, run.start(), run.end())
        index = 0
        while index < len(words) - 1:
            size = next((size for size in range(min(_KNOWN_NAME_MAX_WORDS, len(words) - index), 1, -1)
                         if _known_organisation(table, _join(text, words[index:index + size]))), 0)
            if not size:
                index += 1
                continue
            start, end = words[index].start, words[index + size - 1].end
            crossing = [span for span in out if span.start < end and start < span.end]
            if all(start <= span.start and span.end <= end for span in crossing):
                out = [span for span in out if span not in crossing] + [_span(text, start, end, "ORG")]
            index += size
    return out


def _known_organisation(table: NameTable, name: str) -> bool:
    found = table.organisation(name)
    return found is not None and found.kind in ORGANISATION_KINDS


def _company_name_start(text: str, words: Sequence[_Word], found_in_part: bool) -> int:
    """The index of the first word of the company's name that ``words`` (a capitalised run) ends with."""
    first = len(words) - 1
    while first > 0:
        word = words[first - 1]
        lower = word.text.lower().rstrip(".")
        if lower in TITLES or _capital_habits().get(lower) == "low" \
                or (word.text.isupper() and len(word.text) > 1 and lower != "pt") \
                or (found_in_part and _opens_a_sentence(text, word.start)):
            break
        first -= 1
        if lower == "pt":
            break
    return first


def _dateline_outlets(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A news agency or medium the tables know, in a dateline's brackets, is an organisation where the recogniser
    passed it by ("KUALA LUMPUR, 5 Dis (Bernama) --")."""
    found: list[EntitySpan] = []
    if "(" not in text:
        return found
    for dateline in _DATELINE_OUTLET.finditer(text, 0, _DATELINE_REACH):
        start, end = dateline.span(1)
        outlet = table.organisation(dateline.group(1))
        if (outlet is not None and outlet.kind in OUTLET_KINDS
                and not any(span.start < end and start < span.end for span in spans)):
            found.append(_span(text, start, end, "ORG"))
    return found


def _missed_institutions(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """An institution's acronym the tables know ("KPK", "PSSI", "ISIS"; training/acronyms.tsv and aliases.tsv), or one
    the article defines after an organisation's name, is an organisation where the recogniser passed it by: in
    IndoSum it missed "PSSI" 157 times of 192 and "ISIS" 140 of 147 (it shares its word cluster with the countries
    of the news it appears in), and 159 mentions of acronyms the articles define ("IPB", "HTI", "BRI"...). Not in a
    photo credit, nor in the brackets that define a name's acronym ("Bursa Efek Indonesia (BEI)"), which the name's
    mention holds."""
    found: list[EntitySpan] = []
    defined = _acronyms_defined_by_organisations(text, spans)
    for match in _ACRONYM.finditer(text):
        institution = table.organisation(match.group())
        if match.group() not in defined and (institution is None or institution.kind != INSTITUTION_KIND):
            continue
        if any(span.start < match.end() and match.start() < span.end for span in spans):
            continue
        opening = _DEFINING_BRACKET.search(text, max(0, match.start() - 3), match.start())
        if opening is not None and any(span.end == opening.start() for span in spans):
            continue
        span = _span(text, match.start(), match.end(), "ORG")
        if not _in_credit(text, span):
            found.append(span)
    return found


def _missed_countries(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A country named alone, a whole capitalised run, is a place where the recogniser passed it by: "Israel mengklaim
    serangan itu", "serangan udara Israel", "Washington menuduh Iran". idner-news-2k, which the recogniser learnt
    from, leaves a country that acts or owns untagged, and NERGrit, NER-UI and NER-UGM tag it a place, as a newsroom
    needs: a story on Israel's strikes must carry Israel. Not after an office or a people, as idner-news-2k leaves
    those ("Perdana Menteri Israel", "rakyat Indonesia"), nor in a longer name ("Bank Indonesia"). IndoSum: 515
    articles gain one (488 "Indonesia", 105 "Israel")."""
    found: list[EntitySpan] = []
    people_words = {word for span in spans if span.label == "PER" for word in name_key(span.text).split()}
    for run in _CAPITALISED_WORDS.finditer(text):
        name = run.group()
        if table.country(name) is None or (name.isupper() and len(name) <= 3) \
                or _word_before(text, run.start()).lower() in _COUNTRY_MODIFIES \
                or name_key(name) in people_words \
                or any(span.start < run.end() and run.start() < span.end for span in spans) \
                or (_opens_a_sentence(text, run.start()) and _common_at_a_sentence_start(name.lower())):
            continue  # "AS" is the government; "kata Jordan" after Michael Jordan; Malay "Cuba" is "try"
        span = _span(text, run.start(), run.end(), "LOC")
        if not _in_credit(text, span):
            found.append(span)
    return found


def _common_at_a_sentence_start(word: str) -> bool:
    return _written_in_lower_case(word) or word in _malay_lower_case_words()


def _country_at(text: str, words: Sequence[_Word], index: int, table: NameTable) -> int:
    for size in range(min(_MAX_PLACE_WORDS, len(words) - index), 0, -1):
        if table.country(_join(text, words[index:index + size])) is not None:
            return size
    return 0


# -- 4. types


def _retyped(spans: Sequence[EntitySpan], table: NameTable, people: set[str]) -> list[EntitySpan]:
    """``people``: the names the recogniser tagged; a word of a person's name is one of a name still whole after
    the cuts ("Greece" is not one, for "Greece?” Penyokong Zoran Zaev" tagged a person)."""
    places = {name_key(span.text) for span in spans if span.label == "LOC"}
    whole = _people(spans)
    people = people | whole
    people_words = {word for person in whole for word in person.split()}
    retyped = [span if label == span.label else EntitySpan(span.text, label, span.start, span.end)
               for span, label in ((span, _type(span, table, people, places, people_words)) for span in spans)]
    return _one_type_per_name(retyped, table)


def _in_headlines(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A Title Case headline capitalises every word, so the recogniser runs names and the verbs between them into
    one span ("Lavrov Rusia Temui Kim Jong Un", "Jack Miller Kuasai", "Lavrov Meets Kim Jong Un"). There, a span
    of several words is cut into the names the rest of the article gives on their own (a person, a person's
    surname, an organisation, a place) and the countries and organisations the tables know; the words between them
    go (see ``_headline_pieces`` for when a span stays whole)."""
    if not any(" " in span.text for span in spans):
        return list(spans)
    headlines = _Headlines(text)
    in_headline = {span.start for span in spans if " " in span.text
                   and headlines.around(span.start, span.end) is not None}
    if not in_headline:
        return list(spans)
    body = [span for span in spans if span.start not in in_headline]
    elsewhere = {name_key(span.text): span.label for span in body}
    full_names = [frozenset(words) for span in body if span.label == "PER"
                  and len(words := name_key(span.text).split()) >= _PERSON_WORDS[0]]
    for name in full_names:  # a headline names a person by the surname alone ("Lavrov")
        for word in name:
            elsewhere.setdefault(word, "PER")
    known = _Known(elsewhere, full_names, frozenset(word for span in body for word in name_key(span.text).split()),
                   headlines)
    return [piece for span in spans for piece in (
        _headline_pieces(text, span, known, table) if span.start in in_headline else [span])]


class _Headlines:
    """The lines of a text that read as a Title Case headline (see ``_headline_bounds``), found once per text: a
    span's line is looked up, not searched for, so a 1 MB text of one line costs one pass, not one per span."""

    def __init__(self, text: str) -> None:
        self.bounds = [bounds for found in _LINE.finditer(text) if (bounds := _headline_bounds(found)) is not None]
        self._starts = [start for start, _ in self.bounds]

    def around(self, start: int, end: int) -> tuple[int, int] | None:
        """The headline holding ``start`` to ``end``, if they are in one."""
        index = bisect.bisect_right(self._starts, start) - 1
        if index >= 0 and end <= self.bounds[index][1]:
            return self.bounds[index]
        return None


@dataclass(frozen=True, slots=True)
class _Known:
    """What the rest of an article names: each name's type (and people's names' words as people), the full names'
    words, and every word of every name; and where the article's headlines are."""
    names: dict[str, str]
    full_names: list[frozenset[str]]
    words: frozenset[str]
    headlines: _Headlines


def _headline_bounds(found: re.Match[str]) -> tuple[int, int] | None:
    """Where a line is, without its outer spaces, when it reads as a Title Case headline: no list's number at its
    start ("7. Nico Hulkenberg Force India"), no full stop, colon or comma at its end, at most
    ``_HEADLINE_MAX_WORDS`` words, and of its words of four letters or more outside ``_HEADLINE_LOWER_WORDS`` at
    least three, and all but one, capitalised."""
    raw = found.group()
    line = raw.strip()
    if not line or line.endswith((".", ":", ",", ";")) or _LIST_ITEM.match(line):
        return None
    words = [match.group() for match in itertools.islice(_WORD.finditer(line), _HEADLINE_MAX_WORDS + 1)]
    if len(words) > _HEADLINE_MAX_WORDS:
        return None
    long_words = [word for word in words if len(word) >= 4 and word.lower() not in _HEADLINE_LOWER_WORDS]
    lower = sum(1 for word in long_words if not word[0].isupper())
    if len(long_words) - lower < 3 or lower > 1:
        return None
    start = found.start() + len(raw) - len(raw.lstrip())
    return start, start + len(line)


def _headline_pieces(text: str, span: EntitySpan, known: _Known, table: NameTable) -> list[EntitySpan]:
    """The names in a headline's span (see ``_in_headlines``). The span stays whole
    * when the rest of the article or the tables know it whole, or the article writes it again ("Real Madrid");
    * when it names a place after people ("Bandara Soekarno Hatta"), or is a name that ends the line alone or
      after a comma or colon, as a caption or a byline writes it ("Putri Lily Aldridge, Dixie Pearl Followill");
    * when no part of it is known;
    * when a word left over is one news writes with a capital ("Hyun" after "Sung Ji"), a word of a name the
      article gives, or an acronym ("Marc VDS", a team);
    * when a word left over could open the name after it ("Timnas Indonesia", "Warung Turki", "Universitas Gadjah
      Mada"; see ``_opens_the_name``);
    * and when it is an organisation named after its country ("Spiral Ventures Indonesia")."""
    if name_key(span.text) in known.names or table.place(span.text, fuzzy=False) is not None \
            or table.organisation(span.text) is not None or _written_elsewhere(text, span.start, span.end, known) \
            or span.text.split()[0].lower() in _NAMED_AFTER_PEOPLE | _NAMED_AFTER_PEOPLE_TOO:
        return [span]  # "Bandara Soekarno Hatta", the airport
    line = known.headlines.around(span.start, span.end)
    if line is not None and line[1] == span.end and len(span.text.split()) < _PERSON_WORDS[1] \
            and (line[0] == span.start or text[line[0]:span.start].rstrip().endswith((",", ":"))):
        return [span]  # a caption's or a byline's name ending the line: "Putri Lily Aldridge, Dixie Pearl Followill"
    words = _words_of(text, span.start, span.end)
    pieces: list[EntitySpan] = []
    index = 0
    while index < len(words):
        size, label = _known_at(text, words, index, known.names, table)
        if not size:
            word = words[index].text
            if _capital_habits().get(word.lower()) == "cap" or word.lower() in known.words or word.isupper():
                return [span]  # a word news writes with a capital ("Hyun" after "Sung Ji"), one of a name, an acronym
            index += 1
            continue
        piece = _span(text, words[index].start, words[index + size - 1].end, label)
        if index and (not pieces or pieces[-1].end < words[index - 1].start) \
                and _opens_the_name(words[index - 1].text, piece, first=not pieces):
            return [span]
        pieces.append(piece)
        index += size
    if not pieces or pieces == [span] or (span.label == "ORG" and table.country(pieces[-1].text) is not None
                                          and pieces[-1].end == span.end):
        return [span]
    return _people_joined(text, pieces, known)


def _written_elsewhere(text: str, start: int, end: int, known: _Known) -> bool:
    """Does the article write ``text[start:end]`` again, as a whole, outside the headlines ("Real Madrid", "Google
    Maps", whose parts the rest of the article may tag apart)?"""
    pattern = re.compile(rf"(?<![\w'’-]){re.escape(text[start:end])}(?![\w'’-])")
    return any(known.headlines.around(found.start(), found.end()) is None for found in pattern.finditer(text)
               if found.start() != start)


def _opens_the_name(word: str, piece: EntitySpan, *, first: bool) -> bool:
    """Could ``word``, left over just before ``piece`` in a headline, be the start of the name? A title, a kind of
    body or place, or a word mostly capitalised could; and at the span's start (``first``) any word before a place
    or a one-word name ("Warung Turki", "Anastasiya Sidorova"), though not between two names, where a verb stands
    ("Biden Hosts Albanese")."""
    lower = word.lower()
    return (first and (piece.label == "LOC" or " " not in piece.text)) \
        or lower in TITLES | INSTITUTION_WORDS | ORGANISATION_WORDS | PLACE_KIND_WORDS \
        or _capital_habits().get(lower) == "mostcap"


def _people_joined(text: str, pieces: list[EntitySpan], known: _Known) -> list[EntitySpan]:
    """Side by side, two people's pieces that are words of one full name the article gives are one person
    ("Anniesa Hasibuan", after "Anniesa Desvitasari Hasibuan"), not "Tontowi Liliyana", a pair of players."""
    out: list[EntitySpan] = []
    for piece in pieces:
        before = out[-1] if out else None
        if before is not None and before.label == piece.label == "PER" and text[before.end:piece.start] == " ":
            words = frozenset(name_key(text[before.start:piece.end]).split())
            if any(words <= name for name in known.full_names) \
                    or _written_elsewhere(text, before.start, piece.end, known):
                out[-1] = _span(text, before.start, piece.end, "PER")
                continue
        out.append(piece)
    return out


def _known_at(text: str, words: Sequence[_Word], index: int, elsewhere: dict[str, str],
              table: NameTable) -> tuple[int, str]:
    """How many words from ``index`` on name what the article gives elsewhere, or a country or an organisation the
    tables know (longest first), and its type; (0, "") when none does."""
    for size in range(min(_KNOWN_NAME_MAX_WORDS, len(words) - index), 0, -1):
        name = _join(text, words[index:index + size])
        if (label := elsewhere.get(name_key(name))) is not None:
            return size, label
        if table.country(name) is not None or (size > 1 and table.place(name, fuzzy=False) is not None):
            return size, "LOC"
        if table.organisation(name) is not None:
            return size, "ORG"
    return 0, ""


def _surnames_of_named_people(text: str, spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """"Federer" tagged an organisation, "Marquez" a place, after the article has named Roger Federer or Marc
    Marquez: the person, by the surname news writes after the full name. Not a country ("Jordan", after Michael
    Jordan), an organisation the tables know ("Disney", after Walt Disney), nor a place named as one ("the town of
    Zandvoort", "di Hamilton"). The full name opens with a given name, or its surname alone is tagged a person
    at least twice as often as anything else ("Tim Morrison", whose "Tim" Indonesian writes as "team":
    "Morrison" 6 times a person, once an organisation, once a work)."""
    alone = Counter((name_key(span.text), span.label == "PER") for span in spans if " " not in span.text)
    first_named: dict[str, int] = {}
    for span in spans:
        words = span.text.split()
        surname = name_key(words[-1])
        mostly_a_person = alone[surname, True] >= _ONE_WORD_MAJORITY * max(1, alone[surname, False])
        if span.label == "PER" and len(words) >= _PERSON_WORDS[0] \
                and (mostly_a_person or _opens_with_a_given_name(text, span, table)) \
                and _looks_like_a_name([_Word(word, 0, 0) for word in words], table):
            first_named.setdefault(surname, span.start)
    if not first_named:
        return list(spans)
    return [EntitySpan(span.text, "PER", span.start, span.end)
            if span.label in ("ORG", "LOC", "MISC") and first_named.get(name_key(span.text), span.start) < span.start
            and _may_be_a_surname(span.text, table) and not _named_as_a_place(text, span) else span
            for span in spans]


# Given names that open other names more often: "Al Qaeda", "Al Jazeera"; "Junior International".
_NOT_GIVEN_NAMES = frozenset({"Al", "Junior", "Monte"})  # "Monte Carlo"
# Words a little before a place's name that is also a person's: a team's ground ("kandang Madrid, Santiago
# Bernabeu", "markas Atletico, Vicente Calderon"), "ke" (to) and a brand's "label" ("label Christian Dada").
_GROUND_LEADS = _words("ke kandang markas stadion stadium estadio label")
# Last words of places', bodies' and teams' names after a given name ("Crystal Palace", "Orlando City", "Virginia
# Beach", "Howard University", "Cleveland Police", "Carolina Utara", "Autumn Statement").
_PERSONLESS_LAST_WORDS = COMPASS_WORDS | _PLURAL_PLACE_WORDS | _words("""
    city palace beach hill park island bay street road avenue square bridge river lake mountain valley county state
    harbour harbor port fc united rovers wanderers athletic albion hotspur metropolitano dock wharf quay pier gym
    field garden plaza mall market terminal library theatre theater cinema house lodge inn farm ranch gate lane drive
    university college school academy institute hospital police army council court station airport stadium arena
    hotel hilton tower center centre hall church mosque temple museum gallery studio studios statement dynamics
    magic democrats republicans management international indonesia
""")


def _person_by_given_name(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """A common given name and a surname, tagged a place or an organisation, is a person ("Carolina Marin", "Lucas
    Leiva", "Kathleen Kennedy", "Taylor Swift": IndoSum and English news had them as places or organisations). Not a
    name the tables know ("Orlando City"), one ending in a word of a place's, a body's or a team's name ("Crystal
    Palace", "Beverly Hills", "Cleveland Cavaliers", "Carolina Utara"), nor a name written as a place's ("di Santiago
    Bernabeu", a stadium; "kandang Madrid, Santiago Bernabeu"), nor a given name Indonesian writes as a common word
    ("Tim Indonesia", the team)."""
    words = span.text.split()
    if span.label not in ("LOC", "ORG") or len(words) != 2 or words[0] not in common_given_names() \
            or not words[1][:1].isupper() or not words[1][1:].islower() \
            or _capital_habits().get(words[0].lower(), "cap") != "cap" or words[0] in _NOT_GIVEN_NAMES:
        return span
    last = words[1].lower()
    if last in _PERSONLESS_LAST_WORDS or (last.endswith("s") and not last.endswith("ss")) \
            or table.place(span.text, fuzzy=False) is not None or table.organisation(span.text) is not None \
            or table.place(words[1], fuzzy=False) is not None \
            or not _looks_like_a_name([_Word(word, 0, 0) for word in words], table) \
            or _written_as_a_venue_or_a_body(text, span):
        return span
    return EntitySpan(span.text, "PER", span.start, span.end)


def _written_as_a_venue_or_a_body(text: str, span: EntitySpan) -> bool:
    """Is ``span`` written as a place's name ("di Santiago Bernabeu"), a team's ground or a brand's ("kandang Madrid,
    Santiago Bernabeu", "ke Wanda Metropolitano", "label Christian Dada"), or a body's ("Lembaga Charles Babbage")?"""
    near = {word.strip(",").lower() for word in text[max(0, span.start - 40):span.start].split()[-3:]}
    return _named_as_a_place(text, span) or not _GROUND_LEADS.isdisjoint(near) \
        or _word_before(text, span.start).lower() in INSTITUTION_WORDS


def _opens_with_a_given_name(text: str, span: EntitySpan, table: NameTable) -> bool:
    """Does a person's span open with a given name: a word news writes with a capital ("Roger"), not "FSV Mainz" or
    "Apesnya Bayern"? A word Indonesian news never writes inside a sentence may be one ("Shigeru", "Whitney"), but
    not at a sentence's start, where every word has a capital ("Alhasil ManCity", "Visit Amazon"), nor before a
    place's name ("Moi Nairobi", "Sail Bengkulu") or an acronym ("Maison LVMH")."""
    words = span.text.split()
    if not words[0][1:].islower():
        return False
    habit = _capital_habits().get(words[0].lower())
    return habit == "cap" or (habit is None and not _opens_a_sentence(text, span.start) and not words[-1].isupper()
                              and table.place(words[-1], fuzzy=False) is None)


def _named_as_a_place(text: str, span: EntitySpan) -> bool:
    """Is ``span`` written as a place: after a preposition of place or a word for a town ("di Hamilton", "the town
    of Zandvoort")?"""
    words = [word.strip(",") for word in _two_words_before(text, span.start)]
    return bool(words) and (words[-1] in _PLACE_LEADS or (words[-1] == "of" and words[0] in _PLACE_LEADS))


def _may_be_a_surname(word: str, table: NameTable) -> bool:
    """Not a country, an organisation the tables know, a word of a company's or an institution's name ("Ventures"),
    an abbreviation of two letters or a model number ("CL", "TL2")."""
    return len(word) > 2 and not any(char.isdigit() for char in word) and table.country(word) is None \
        and table.organisation(word) is None and word.lower() not in COMPANY_NAME_WORDS | ORGANISATION_WORDS


def _one_type_per_name(spans: Sequence[EntitySpan], table: NameTable) -> list[EntitySpan]:
    """A name of two words or more tagged both a person and an organisation in one article is what it is
    tagged most often; on a tie, a person if it reads as a person's name ("After Rachel Reeves' first
    speech", tagged an organisation, and "Rachel Reeves has pledged", a person). A one-word name is an organisation
    where it is tagged one at least ``_ONE_WORD_MAJORITY`` times as often as a person ("Juventus": 25 and 3 in one
    IndoSum article), never the other way: the recogniser makes companies and products people more often than
    people organisations ("Payfazz", "Foxconn", "Gesits" would all become people), and closer counts stay as
    tagged ("Intel", 5 and 4). A name tagged an organisation more often than a place is an organisation (see
    ``_organisations_not_places``)."""
    counts = Counter((name_key(span.text), span.label) for span in spans if span.label in ("PER", "ORG"))
    surfaces = {name_key(span.text): span.text for span in spans}
    decided: dict[str, str] = {}
    for key in {key for key, _ in counts}:
        people, organisations = counts[key, "PER"], counts[key, "ORG"]
        if not (people and organisations):
            continue
        if " " not in key:
            if organisations >= _ONE_WORD_MAJORITY * people:
                decided[key] = "ORG"
        elif people != organisations:
            decided[key] = "PER" if people > organisations else "ORG"
        elif _looks_like_a_name([_Word(word, 0, 0) for word in surfaces[key].split()], table) \
                and surfaces[key].split()[-1].lower() not in OUTLET_WORDS:
            decided[key] = "PER"
    places = _organisations_not_places(spans, surfaces, table)
    if not decided and not places:
        return list(spans)
    return [EntitySpan(span.text, decided[key], span.start, span.end)
            if span.label in ("PER", "ORG") and (key := name_key(span.text)) in decided
            else EntitySpan(span.text, "ORG", span.start, span.end)
            if span.label == "LOC" and name_key(span.text) in places else span
            for span in spans]


def _organisations_not_places(spans: Sequence[EntitySpan], surfaces: dict[str, str], table: NameTable) -> set[str]:
    """Names the article tags an organisation more often than a place, and which the tables do not know as a
    place: "Juventus" and "Bayern" tagged a place once beside three times a club. A place's name stays a place where
    it is tagged so ("Barcelona", the city and the club)."""
    counts = Counter((name_key(span.text), span.label) for span in spans if span.label in ("ORG", "LOC"))
    return {key for (key, label), places in counts.items()
            if label == "LOC" and counts[key, "ORG"] > places and table.place(surfaces[key], fuzzy=False) is None}


_OUTLET_OR_COMPANY_WORDS = OUTLET_WORDS | COMPANY_LAST_WORDS


def _an_organisation(span: EntitySpan, table: NameTable) -> bool:
    """Is ``span`` an organisation whatever the recogniser called it?"""
    organisation = table.organisation(span.text)
    if organisation is not None and organisation.kind in ORGANISATION_KINDS:
        return True
    words = span.text.split()
    if len(words) > 1 and ((span.label in ("PER", "LOC") and words[-1].lower() in _OUTLET_OR_COMPANY_WORDS)
                           or _LEGAL_FORM_AT_END.fullmatch(words[-1]) is not None):
        # an outlet's or a company's word, or a legal form, last ("Malayan Banking Bhd", "Spiral Ventures" tagged a
        # person)
        return True
    if span.label in ("PER", "MISC") and any(word.lower() in INSTITUTION_WORDS for word in words):
        return True  # "Clinical Hospital Mostar" (a person), "Bulgarian Academy of Sciences" (a nationality)
    if span.label == "LOC" and len(words) > 1 and words[0].lower() in GOVERNING_BODY_WORDS:
        return True  # "Parlimen Wales", "Kementerian Luar Negeri Rusia" tagged a place
    if span.label in ("PER", "LOC") and len(words) > 1 and _a_club(words, table):
        return True  # "Real Madrid", "AS Roma", "Tottenham Hotspur" tagged a place or a person
    # "DailySocial.id", "Tribunnews.com": a site is its outlet, never a place or a person.
    return _SITE.fullmatch(span.text) is not None


def _a_club(words: Sequence[str], table: NameTable) -> bool:
    """A sports club's name, by a word only clubs' names hold ("Real Madrid", "Bhayangkara FC", "Leeds United"), or
    by a prefix or "City" around a known place ("AS Roma", "AC Milan", "Leicester City"; not "AS Terbuka", the US
    Open, nor "Senayan City", a mall). A known place's own name is not a club's ("Mexico City")."""
    first, last = words[0], words[-1]
    if not (first in CLUB_FIRST_WORDS or last in CLUB_LAST_WORDS or first in CLUB_PREFIXES_BEFORE_A_PLACE
            or last == "City") or table.place(" ".join(words), fuzzy=False) is not None:
        return False  # the cheap word checks first: this runs for every name of two words or more
    if first in CLUB_FIRST_WORDS or last in CLUB_LAST_WORDS:
        return True
    if first in CLUB_PREFIXES_BEFORE_A_PLACE:
        return table.place(" ".join(words[1:]), fuzzy=False) is not None
    return table.place(" ".join(words[:-1]), fuzzy=False) is not None


@cache
def _nationalities() -> frozenset[str]:
    """One-word nationality, people, language and religion names ("Ukrainian", "Buddhist"): the recogniser's
    gazetteer's "misc" entries."""
    lines = read_lines(DEFAULT_MODEL_DIR / GAZETTEER_FILE)
    return frozenset(name for kind, _, name in (line.partition("\t") for line in lines)
                     if kind == "misc" and " " not in name)


def _type(span: EntitySpan, table: NameTable, people: set[str], places: set[str], people_words: set[str]) -> str:
    if _an_organisation(span, table):
        return "ORG"
    if (span.label != "MISC" and span.text.lower() in _nationalities() and _ADJECTIVE.search(span.text)
            and table.place(span.text, fuzzy=False) is None):
        return "MISC"  # "Ukrainian" tagged a place: an adjective of a place, not the place
    key = name_key(span.text)
    if span.label == "LOC" and key in people and table.place(span.text, fuzzy=False) is None:
        return "PER"
    if span.label == "PER" and _a_place_not_a_person(span, table, key, places, people_words):
        return "LOC"
    return span.label


def _quoted_titles(text: str, spans: Sequence[EntitySpan]) -> list[EntitySpan]:
    """Titles of works in quotes that no entity overlaps, as MISC (see ``_QUOTED``)."""
    found = []
    for quote in _QUOTED.finditer(text):
        title = quote.group(1).rstrip(" .,")
        start, end = quote.start(1), quote.start(1) + len(title)
        words = title.split()
        if (len(words) > 1 and words[0][:1].isupper()
                and all(word[:1].isupper() or not word[:1].isalpha() or word.lower() in TITLE_CASE_MINOR_WORDS
                        for word in words)
                and not any(span.start < end and start < span.end for span in spans)):
            found.append(_span(text, start, end, "MISC"))
    return found


def _team_of_a_place(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """In English, a place's name and a plural nickname is a team, an organisation: "Kansas City Chiefs", "Chicago
    White Sox", "New York Yankees" (a Los Angeles Times page had them as places). Not a place known whole ("Palm
    Springs")."""
    if span.label != "LOC":
        return span
    words = _words_of(text, span.start, span.end)
    size = _place_at(text, words, 0, table)
    rest = words[size:]
    if not size or not 1 <= len(rest) <= _TEAM_NICKNAME_WORDS or table.place(span.text, fuzzy=False) is not None:
        return span
    last = rest[-1].text
    if all(word.text[:1].isupper() for word in rest) and ((last.endswith("s") and len(last) > 3) or last == "Sox") \
            and last.lower() not in _PLURAL_PLACE_WORDS:
        return EntitySpan(span.text, "ORG", span.start, span.end)
    return span


def _titled_person(text: str, span: EntitySpan, table: NameTable) -> EntitySpan:
    """In English text a name after an office is a person, whatever it was tagged: "Secretary of State Marco Rubio"
    tagged a place. Not a place the tables know ("Mayor of London"), nor a single word."""
    if span.label != "LOC" or not (_titled(text, span.start)
                                   or _OFFICE_OF.search(text, max(0, span.start - 40), span.start)):
        return span
    words = _words_of(text, span.start, span.end)
    if not _PERSON_WORDS[0] <= len(words) <= _PERSON_WORDS[1] or not _looks_like_a_name(words, table):
        return span
    return EntitySpan(span.text, "PER", span.start, span.end)


def _as_event(span: EntitySpan) -> EntitySpan:
    """An English name whose last word names an event or an award is MISC ("Glastonbury Festival" tagged a place)."""
    words = span.text.split()
    if span.label == "MISC" or len(words) < 2 or words[-1].lower() not in EVENT_LAST_WORDS:
        return span
    return EntitySpan(span.text, "MISC", span.start, span.end)


def _a_place_not_a_person(span: EntitySpan, table: NameTable, key: str, places: set[str],
                          people_words: set[str]) -> bool:
    """Is ``span``, tagged a person, a place? "Pyongjang" tagged a place elsewhere in the article and no one's name;
    "Evelyn Street" or "Mount Kinabalu", named as places are; "Macedonia", a country, or "Eropah" (Europe), unless
    part of a name the article gives ("Jordan", "Michael Jordan"). Not a city or a US state, whose names are often
    people's ("Vladimir", "Georgia")."""
    words = span.text.lower().split()
    if len(words) == 1 and key in places and key not in people_words and table.place(span.text, fuzzy=True) is not None:
        return True
    if len(words) > 1 and (words[-1] in PLACE_LAST_WORDS or words[0] in PLACE_FIRST_WORDS):
        return True
    place = table.place(span.text, fuzzy=False)
    return key not in people_words and place is not None and place.kind in ABOVE_CITIES
