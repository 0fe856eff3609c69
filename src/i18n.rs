//! Every string the app shows, in Chinese (zh-CN, the default) and English.
//!
//! One table, one key per string: the `messages!` macro below makes a missing
//! translation a compile error, and the tests check that no text is empty or
//! left in the wrong language. Later issues add their keys to the table.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A language the UI speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// 简体中文, the default: the workers' language.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Both languages, Chinese first.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language's own name, shown in the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
        }
    }
}

macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// The key of one UI string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key { $($key),* }

        impl Key {
            /// Every key, for the completeness tests.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];
        }

        /// The text of `key` in `lang`.
        pub fn text(lang: Lang, key: Key) -> &'static str {
            match key {
                $(Key::$key => match lang { Lang::ZhCn => $zh, Lang::En => $en },)*
            }
        }
    };
}

messages! {
    AppName => "村级计生工作手册", "Fieldbook";
    NavToday => "今日", "Today";
    NavHouseholds => "住户", "Households";
    NavPlan => "计划", "Plan";
    NavIndicators => "统计", "Indicators";
    NavSettings => "设置", "Settings";
    MainNavigation => "主导航", "Main navigation";
    TodayTitle => "今日任务", "Today";
    TodayIntro => "今天到期、逾期和即将到期的随访与服务，按住户排列。",
        "Visits and services due today, overdue or coming up, by household.";
    HouseholdsTitle => "住户与人员", "Households and people";
    HouseholdsIntro => "按姓名、户编号或拼音首字母查找住户，查看家庭成员和服务记录。",
        "Find a household by name, number or pinyin initials; see its people and their visits.";
    PlanTitle => "年度工作计划", "Work plan";
    PlanIntro => "本年度工作计划的各项措施，完成一项勾选一项。",
        "This year's work plan as a checklist of measures: tick each task when done.";
    IndicatorsTitle => "统计与报表", "Indicators and reports";
    IndicatorsIntro => "三查参检率、措施落实率等指标，以及可导出打印的登记表。",
        "Three-check rate, measure coverage and the other rates, and registers to export and print.";
    SettingsTitle => "同步与设置", "Sync and settings";
    SettingsIntro => "服务器与同步、备份、存储空间和界面语言。",
        "Server and sync, backup, storage and the app's language.";
    LanguageLabel => "界面语言", "Language";
    LanguageSaveFailed => "语言已切换，但无法保存到本机，下次打开时会恢复为中文。",
        "The language changed, but could not be saved on this phone; it will be Chinese next time.";
    StorageLabel => "本机存储", "Storage on this phone";
    StoragePersisted => "已设为持久保存：浏览器不会自行清除本机数据。",
        "Persistent: the browser will not clear this phone's data by itself.";
    StorageNotPersisted => "未获持久保存：空间不足时浏览器可能清除数据，请及时同步或备份。",
        "Not persistent: the browser may clear data when space runs low. Sync or back up often.";
    StorageUnknown => "尚未确认存储是否持久。", "Not yet known whether storage is persistent.";
    StorageQuotaExceeded => "手机存储空间已满，请先同步或导出备份，再清理空间。数据未保存，表单内容仍保留。",
        "The phone's storage is full. Sync or export a backup first, then free up space. Nothing was saved; the form still holds what you entered.";
    StorageUnavailable => "无法使用本机数据库：可能另一个页面正在更新本应用，或浏览器禁止了存储（如无痕模式）。请关闭本应用的其他页面后重新加载。刚才的操作未完成，已保存的数据不受影响。",
        "The database on this phone cannot be used: another tab may be updating the app, or the browser blocks storage (e.g. in private mode). Close the app's other tabs and reload. The last action did not complete; data already saved is not affected.";
    StorageFailed => "本机数据库出错，刚才的操作未完成，已保存的数据不受影响。请再试一次；如果一再出现，请导出备份并联系乡镇管理员。",
        "The phone's database reported an error. The last action did not complete; data already saved is not affected. Try again; if it keeps happening, export a backup and tell the township office.";
    StorageLocked => "本机已锁定，请先输入本机密码解锁。",
        "This phone is locked. Enter its PIN to unlock it first.";
    LockTitle => "本机已锁定", "This phone is locked";
    LockIntro => "请输入本机密码解锁。解锁不需要联网。",
        "Enter this phone's PIN to unlock it. No network is needed.";
    LockPinLabel => "本机密码", "PIN or password";
    LockUnlock => "解锁", "Unlock";
    LockUnlocking => "正在解锁…", "Unlocking…";
    LockWrongPin => "密码不对，请再试一次。", "Wrong PIN. Try again.";
    LockWaitBefore => "密码错误次数太多，请等待", "Too many wrong PINs. Wait";
    LockWaitAfter => "秒后再试。", "seconds, then try again.";
    LockForgot => "忘记本机密码", "Forgot the PIN";
    LockForgotIntro => "联网后用账户密码登录，即可设置新的本机密码，本机数据不会丢失。",
        "Go online and sign in with your account password to set a new PIN; nothing on this phone is lost.";
    LockNoRecovery => "设置本机密码时没有登录，无法找回。只能清除本机数据，再登录同步，取回服务器上已有的数据。",
        "The PIN was set without signing in, so it cannot be recovered. Only erasing this phone's data and syncing again brings back what the server has.";
    LockRecoverSubmit => "登录并找回", "Sign in and recover";
    LockRecoverFailed => "找回失败：", "Recovery failed: ";
    LockRecoveryMissing => "服务器上没有这部手机的找回密钥，或它已不能打开本机数据。",
        "The server holds no recovery key for this phone, or it no longer opens this phone's data.";
    LockSetNewPin => "请设置新的本机密码", "Set a new PIN for this phone";
    LockSettingsLabel => "本机加密", "Lock this phone";
    LockSettingsIntro => "开启后，本机所有记录都加密保存；打开应用时和闲置一段时间后，须输入本机密码。忘记密码时，联网登录账户即可找回。备份文件仍是明文，请妥善保管。",
        "When on, every record on this phone is stored encrypted; the app asks for the PIN when it opens and after it sits idle. A forgotten PIN is recovered by signing in online. Backup files stay unencrypted: keep them safe.";
    LockIsOn => "已开启", "On";
    LockIsOff => "未开启", "Off";
    LockTurnOn => "开启本机加密", "Turn the lock on";
    LockTurnOff => "关闭本机加密", "Turn the lock off";
    LockChangePin => "修改本机密码", "Change the PIN";
    LockNewPin => "新密码（至少 6 位数字，或至少 8 个字符）", "New PIN (at least 6 digits, or at least 8 characters)";
    // Issue 14, h-today: this part's keys go here.
    TodayRouteIntro => "今天要走访的：按紧急程度或按户排列，可按村民组和类别筛选。",
        "Today's visits, by urgency or by household, for a villager group and a kind of task.";
    TodayToDo => "待办", "To do";
    TodayArrange => "排列方式", "Arrange";
    TodayByUrgency => "按紧急程度", "By urgency";
    TodayByHousehold => "按户", "By household";
    TodayGroupFilter => "村民组", "Villager group";
    TodayAllGroups => "全部", "All";
    TodayNoGroup => "未分组", "No group";
    TodayKindFilter => "任务类别", "Kind of task";
    TodayAllKinds => "全部类别", "All kinds";
    TodayDaysLate => "逾期 {} 天", "{} days late";
    TodayStartsOn => "{}起", "from {}";
    TodayMissed => "上期未完成", "Missed last period";
    TodayMissedHint => "这些任务的期限已过，不能再在原期限内完成，指标中计为未完成。",
        "Their time has passed: they can no longer be done in their period, and the indicators count them as not done.";
    TodayNotDone => "未完成", "Not done";
    TodayComeBack => "约好再访", "Agreed to come back";
    TodayComeBackHint => "上次没有见到人，约好了再访的日期；到那天会回到待办中。",
        "Nobody was seen last time and a day to come back was agreed; on that day the task is back in the list.";
    TodayComeBackOn => "{}再访", "back on {}";
    TodayAgreedToday => "约好今天再访", "Agreed return today";
    TodayLastAttempt => "上次未见到", "Not seen last time";
    TodayReasonNotHome => "不在家", "not at home";
    TodayReasonAway => "外出", "away";
    TodayReasonDeclined => "拒访", "declined";
    TodayHouseholdUnit => "户", "households";
    TodayCall => "拨打电话", "Call";
    TodayNothingInFilter => "所选村民组和类别中没有待办任务。", "Nothing to do in the chosen group and kind.";
    LockPinAdvice => "6 位数字好记，但若有人拷走手机存储，可在电脑上较快猜出；用至少 8 个字符、字母数字混合的密码更安全。",
        "Six digits are easy to remember, but someone with a copy of the phone's storage can guess them fairly quickly on a computer; a password of 8 or more letters and digits is much safer.";
    LockRepeatPin => "再输一次新密码", "The new PIN again";
    LockCurrentPin => "当前本机密码", "Current PIN";
    LockAccountPassword => "账户密码（用于在服务器保存找回密钥）", "Account password (to keep the recovery key on the server)";
    LockPinTooShort => "密码太短：至少 6 位数字，或至少 8 个字符。", "Too short: at least 6 digits, or at least 8 characters.";
    LockPinMismatch => "两次输入的新密码不一致。", "The two new PINs differ.";
    LockNotSignedIn => "尚未登录：不登录设置的本机密码一旦忘记，本机数据无法打开，只能从服务器同步取回已同步的部分。",
        "Not signed in: if a PIN set without signing in is forgotten, this phone's data cannot be opened; only what was synced comes back from the server.";
    LockSealing => "正在加密本机数据…", "Encrypting this phone's data…";
    LockUnsealing => "正在解密本机数据…", "Decrypting this phone's data…";
    LockChanged => "已完成。", "Done.";
    LockIdleLabel => "闲置多久后自动锁定", "Lock after being idle for";
    LockMinutes => "分钟", "minutes";
    LockNow => "立即锁定", "Lock now";
    VersionLabel => "版本", "Version";
    UpdateReady => "有新版本", "New version";
    UpdateReload => "重新加载", "Reload";
    NotFoundTitle => "找不到此页面", "Page not found";
    NotFoundBack => "回到今日任务", "Back to Today";
    Loading => "正在读取本机数据…", "Reading this phone's data…";
    TodayKept => "上次打开时的列表，正在读取本机数据…",
        "The list as last opened; reading this phone's data…";
    StorageOpenFailed => "无法打开本机数据库", "Cannot open this phone's database";
    Save => "保存", "Save";
    Saving => "正在保存…", "Saving…";
    Cancel => "取消", "Cancel";
    Required => "必填", "required";
    FirstRunTitle => "开始使用", "Get started";
    FirstRunIntro => "填写村名和年度，选择一份年度工作计划模板，即可开始记录。",
        "Enter the village and the year, pick a work-plan template, and start recording.";
    VillageName => "村名", "Village name";
    Township => "镇/街道", "Township";
    PlanYear => "计划年度", "Plan year";
    PlanTemplate => "年度工作计划模板", "Work-plan template";
    EmptyPlan => "空白计划（自己添加措施）", "Empty plan (add measures yourself)";
    StartButton => "开始使用", "Start";
    TryDemo => "试用示范村", "Try the demo village";
    TryDemoIntro => "载入一个虚构的示范村（1,000 户）来熟悉功能，数据可随时清除。",
        "Load a made-up demo village (1,000 households) to explore; it can be cleared later.";
    LoadingDemo => "正在载入示范村", "Loading the demo village";
    YearInvalid => "年度应在 2000 至 2100 之间", "The year must be between 2000 and 2100";
    NothingDue => "今天没有到期的任务。", "Nothing is due today.";
    Overdue => "逾期", "Overdue";
    DueNow => "到期", "Due";
    Upcoming => "即将到期", "Coming up";
    Until => "截至", "by";
    From => "起", "from";
    HouseholdNumber => "户编号", "Household number";
    VillagerGroup => "村民组", "Villager group";
    AllGroups => "全部村民组", "All groups";
    AllFamilies => "全部家庭", "All families";
    SearchHouseholds => "姓名、户编号或拼音首字母", "Name, number or pinyin initials";
    NoMatches => "没有找到符合条件的住户。", "No household matches.";
    // Issue 14, h-forms: this part's keys go here.
    LeaveUnsaved => "填写的内容还没有保存，确定要离开吗？", "What you entered is not saved. Leave anyway?";
    LeaveStay => "继续填写", "Keep editing";
    LeaveGo => "不保存，离开", "Leave without saving";
    LastVisitOfKind => "上次同类服务", "Last visit of this kind";
    NoneYet => "还没有", "none yet";
    WhyDue => "为何要访", "Why due";
    NoTaskOfKind => "目前没有这类待办任务", "No task of this kind is due now";
    MethodSince => "落实日期", "since";
    SeenQuestion => "见到本人了吗", "Was the person seen?";
    Seen => "见到了", "Seen";
    NotSeen => "未见到", "Not seen";
    NotSeenReasonLabel => "未见到的原因", "Why not seen";
    ComeBack => "再访日期", "Come back on";
    NotChecked => "未查", "not checked";
    Correct => "更正", "Correct";
    VisitOutcome => "结果", "Outcome";
    Back => "返回", "Back";
    LastPeriodRequired => "请填写末次月经日期", "Enter the date of the last period";
    DeliveryDateRequired => "请填写分娩日期", "Enter the delivery date";
    LastPeriodDate => "末次月经日期", "Date of the last period";
    DeliveryDate => "分娩日期", "Delivery date";
    PlaceLivingNow => "流入地", "Where she lives now";
    PlaceRegistered => "户籍地", "Where registered";
    ReproductiveWomen => "育龄妇女", "Women of reproductive age";
    OtherMembers => "其他成员", "Other members";
    LastThreeChecks => "上次三查", "Last three checks";
    NeverChecked => "未查过", "never";
    OpenTasks => "待办", "Open tasks";
    NoOpenTasks => "无待办", "nothing due";
    CallPhone => "拨打电话", "Call";
    VisitDetails => "服务记录详情", "Visit record";
    NoVisitKindApplies => "目前没有适用的随访类型", "No kind of visit applies now";
    HouseholdsFound => "户", "households";
    AddHousehold => "添加住户", "Add household";
    AddPerson => "添加成员", "Add person";
    Members => "家庭成员", "Members";
    VisitHistory => "服务记录", "Visits";
    NoVisits => "还没有服务记录。", "No visits yet.";
    RecordVisit => "记录随访", "Record a visit";
    FlagOneChild => "独生子女户", "One-child family";
    FlagTwoGirls => "双女户", "Two-girl family";
    FlagCareForGirls => "关爱女孩户", "Care-for-girls family";
    FlagSpecial => "计生特殊家庭", "Special family";
    Address => "住址", "Address";
    Phone => "联系电话", "Phone";
    Notes => "备注", "Notes";
    Name => "姓名", "Name";
    Sex => "性别", "Sex";
    BirthDate => "出生日期", "Birth date";
    Relation => "与户主关系", "Relation to head";
    Marital => "婚姻状况", "Marital status";
    Age => "岁", "years";
    Method => "避孕措施", "Contraception";
    NoMethod => "无", "none";
    VisitTitle => "随访记录", "Visit";
    CorrectVisitTitle => "更正随访记录", "Correct a visit";
    CorrectingIntro => "更正会作为一次修改保存并同步，原记录的修改经过可查。",
        "The correction is saved and synced as an edit; what it changed stays on record.";
    VisitDate => "日期", "Date";
    VisitKind => "服务类型", "Kind of visit";
    RecordedBy => "记录人", "Recorded by";
    NextVisit => "下次随访日期", "Next visit";
    NextVisitSuggested => "建议日期", "suggested";
    AdverseReaction => "有不良反应", "Adverse reaction";
    Referred => "已转诊治疗", "Referred for treatment";
    PregnancyFound => "发现怀孕", "Pregnancy found";
    KnowsPolicy => "知晓政策", "Knows the policy";
    Satisfied => "对服务满意", "Satisfied";
    NewMethod => "措施变更为", "Method changed to";
    NoChange => "不变", "no change";
    RingInPlace => "查环：环在位", "Ring check: IUD in place";
    PregnantCheck => "查孕：怀孕", "Pregnancy check: pregnant";
    ConditionFound => "查病：发现疾病", "Gynaecological check: condition found";
    DefectLevel => "干预级别", "Screening level";
    Yes => "是", "yes";
    No => "否", "no";
    NotAsked => "未问", "not asked";
    PersonNotFound => "找不到这个人，可能已被删除。", "This person was not found; they may have been removed.";
    HouseholdNotFound => "找不到这户，可能已被删除。", "This household was not found; it may have been removed.";
    DateInvalid => "请填写有效日期（年-月-日）", "Enter a valid date (year-month-day)";
    NoPlan => "还没有年度工作计划。", "There is no work plan yet.";
    Progress => "完成进度", "Progress";
    DoneOn => "完成日期", "Done on";
    // Issue 14, h-reports: this part's keys go here.
    IndBasisNote => "三查按半年计算，流动人口按季度计算，措施落实率是截至当天的状态；其余指标按所选期间计算。",
        "Three checks are counted per half-year, migrants per quarter, and measure coverage as the state on a day; the other rates over the chosen period.";
    IndCountedOver => "统计期：", "Counted over: ";
    IndByHalfYear => "按半年计算", "Counted per half-year:";
    IndByQuarter => "按季度计算", "Counted per quarter:";
    IndAsOf => "截至", "As of ";
    IndUpTo => "，截至", ", up to ";
    IndMissingPeople => "未完成", "Missing";
    IndCountedPeople => "已计入", "Counted";
    IndExportMissing => "导出未完成名单 CSV", "Export the missing list (CSV)";
    IndNobodyMissing => "没有未完成的。", "Nobody is missing.";
    IndHouseholdShort => "户", "Household";
    IndCallPhone => "拨打", "Call";
    IndRecordVisitFor => "记录随访：", "Record a visit: ";
    IndNothingToCount => "本期没有可统计的对象。", "Nothing to count in this period.";
    StartNextYearQuestion => "开始 {year} 年度计划？", "Start the {year} plan?";
    StartNextYearExplain => "将按本年度计划复制各项措施和目标，勾选记录不复制。",
        "The measures and goals of this year's plan are copied; ticks are not.";
    StartNextYearConfirm => "确定开始", "Start it";
    PlanTaskMissed => "未完成（已过期）", "Not done (window closed)";
    ReportPeriod => "统计期", "Period";
    ReportGroup => "村民组", "Villager group";
    WholeVillageOnly => "此表按全村统计。", "This register covers the whole village.";
    BackToReports => "返回报表列表", "Back to the registers";
    HouseholdsReached => "覆盖户数", "Households reached";
    HouseholdsReachedInvalid => "覆盖户数应为整数", "Households reached must be a whole number";
    PeriodMonth => "月", "Month";
    PeriodQuarter => "季度", "Quarter";
    PeriodHalfYear => "半年", "Half-year";
    PeriodYear => "年", "Year";
    PeriodCurrent => "本期", "This period";
    PeriodPrevious => "上期", "Previous period";
    ChartLabel => "各项指标与目标对比图", "Rates against their targets";
    Counted => "已计入：", "Counted:";
    Missing => "未完成：", "Missing:";
    ReportsTitle => "报表", "Registers and reports";
    ReportsLink => "查看报表（花名册、登记表、统计报表）", "Registers and reports";
    RegisterRoster => "育龄妇女花名册", "Roster of women of reproductive age";
    RegisterThreeChecks => "三查登记表", "Three-check register";
    RegisterFollowUps => "随访记录册", "Follow-up log";
    RegisterMigrants => "流动人口登记册", "Migrant register";
    RegisterCareForGirls => "关爱女孩档案", "Care-for-girls archive";
    RegisterPlanProgress => "工作计划完成情况", "Plan progress";
    RegisterIndicators => "统计报表", "Indicator summary";
    RegisterYearEnd => "年度工作总结数据", "Year-end summary figures";
    ExportCsv => "导出 CSV", "Export CSV";
    Print => "打印", "Print";
    Rows => "行", "rows";
    StorageUsed => "已用", "used";
    StorageQuota => "可用上限", "quota";
    EditHousehold => "修改住户信息", "Edit household";
    EditPerson => "修改人员信息", "Edit person";
    Edit => "修改", "Edit";
    Children => "现有子女数", "Number of children";
    Living => "居住状态", "Living status";
    LivingResident => "常住", "Resident";
    LivingOut => "流出", "Out-migrant";
    LivingIn => "流入", "In-migrant";
    LivingMoved => "迁出注销", "Moved away";
    LivingDeceased => "死亡注销", "Deceased";
    MigrantPlace => "流入地 / 户籍地", "Where to / where from";
    Since => "起始日期", "Since";
    CertificateNumber => "婚育证明编号", "Certificate number";
    CertificateExpires => "证明有效期至", "Certificate valid until";
    Pregnancy => "孕情", "Pregnancy";
    PregnancyNone => "未孕", "Not pregnant";
    PregnancyPregnant => "怀孕", "Pregnant";
    PregnancyDelivered => "已分娩", "Delivered";
    PregnancyDate => "末次月经 / 分娩日期", "Last period / delivery date";
    MethodStart => "落实日期", "Start date";
    ReplaceBy => "到期更换日期", "Replace by";
    InformedChoice => "已做知情选择", "Informed choice made";
    Menopause => "绝经日期", "Menopause date";
    Exemption => "免查原因", "Reason for exemption from checks";
    // Issue 14, h-township: this part's keys go here.
    TownshipLoading => "正在载入各村汇总……", "Loading the villages' summary…";
    TownshipDetailLoading => "正在载入该村指标……", "Loading the village's indicators…";
    TownshipDetailFailed => "无法载入该村指标，请稍后再试。", "Could not load the village's indicators. Try again later.";
    TownshipSortBy => "排序", "Sort by";
    TownshipSortName => "村名", "Village name";
    TownshipAscending => "升序", "Ascending";
    TownshipDescending => "降序", "Descending";
    BackupLabel => "备份", "Backup";
    BackupIntro => "把本机全部记录和未同步的修改导出为一个文件，无法同步时请定期导出保存。",
        "Export every record and every unsynced change on this phone to one file. Export often when you cannot sync.";
    ExportBackup => "导出备份", "Export backup";
    BackupFailed => "无法导出备份文件，请再试一次。", "The backup file could not be made. Try again.";
    ImportBackup => "从备份文件导入", "Import a backup file";
    SyncLabel => "同步", "Sync";
    SyncFailed => "同步未完成", "Sync did not finish";
    NewPlan => "新建本年度计划", "Start this year's plan";
    UpdateWait => "（请先保存或离开表单、等同步完成）", "(save or leave the form, and let sync finish, first)";
    ServerAddress => "服务器地址", "Server address";
    Username => "用户名", "Username";
    Password => "密码", "Password";
    SignIn => "登录", "Sign in";
    SigningIn => "正在登录…", "Signing in…";
    SignedInAs => "已登录：", "Signed in:";
    SignOut => "退出登录", "Sign out";
    SyncNow => "立即同步", "Sync now";
    Syncing => "正在同步…", "Syncing…";
    SyncPushed => "发出", "Sent";
    SyncPulled => "收到", "Received";
    LastSync => "上次同步成功：", "Last good sync:";
    NeverSynced => "尚未同步", "Not synced yet";
    SyncOnMobileData => "使用移动数据时也同步（默认只在 Wi-Fi 下同步）", "Sync on mobile data too (by default only on Wi-Fi)";
    LogoutRefused => "还有未同步的修改，不能退出：请先同步，或先导出备份文件。", "Changes are waiting to sync: sync first, or export a backup file, before signing out.";
    EraseAndSignOut => "退出并清除本机数据（共用手机）", "Sign out and erase this phone's data (shared phone)";
    EraseConfirm => "将删除本机上的全部记录和未同步的修改，此操作不能撤销。", "Every record and unsynced change on this phone will be deleted. This cannot be undone.";
    EraseConfirmButton => "确认清除", "Erase";
    ConflictsToReview => "处不同值待核对", "differing values to review";
    ConflictsTitle => "待核对的不同值", "Values to review";
    ConflictsIntro => "两部手机改了同一项：当前显示较晚的修改，另一值保留在这里。请选择保留哪个。", "Two phones changed the same field: the later edit shows, the other value is kept here. Choose which to keep.";
    NoConflicts => "没有待核对的不同值。", "Nothing to review.";
    KeepCurrent => "保留当前值", "Keep this value";
    UseOther => "改用这个值", "Use this value";
    CurrentValue => "当前值", "Current value";
    OtherValue => "另一值", "Other value";
    ThisPhone => "本机", "this phone";
    TownshipTitle => "乡镇汇总", "Township summary";
    TownshipIntro => "各村的指标并排比较，来自已同步的数据。", "The villages' indicators side by side, from synced data.";
    Households => "户数", "Households";
    OpenConflicts => "待核对", "To review";
    Village => "村", "Village";
    ImportIntro => "导入的记录与本机记录合并：同一项两边都改过时，较晚的修改生效，另一值保留待核对。",
        "Imported records are merged with this phone's: where both changed the same field, the later edit wins and the other value is kept for review.";
    Importing => "正在导入…", "Importing…";
    ImportFileUnreadable => "无法读取所选文件，请再选一次。", "The chosen file could not be read. Choose it again.";
    ImportDone => "导入完成", "Import finished";
    ImportAdded => "新增记录", "Records added";
    ImportUpdated => "更新记录", "Records updated";
    ImportUnchanged => "无变化记录", "Records unchanged";
    ImportConflicts => "保留待核对的不同值", "Differing values kept for review";
    StartNextYear => "开始下一年度计划", "Start next year's plan";
    // Issue 14, h-shell: this part's keys go here.
    UnsyncedOne => "条记录未同步", "record not yet synced";
    HaveAccount => "已有账户？登录同步", "Have an account? Sign in and sync";
    HaveAccountIntro => "乡镇已为你开了账户：登录后，你的村和数据从服务器同步到本机。",
        "The township gave you an account: sign in, and your village and its records come from the server.";
    NoServer => "没有服务器：在本机建立村", "No server: set up the village on this phone";
    NoServerIntro => "只在这部手机上记录；以后若要同步，需由乡镇管理员处理。",
        "Records stay on this phone only; syncing later needs the township office's help.";
    SignedInWaiting => "已登录。你的村正从服务器同步到本机，完成后即可开始工作。",
        "Signed in. Your village is coming from the server; you can start once the sync is done.";
    SignedInNoVillage => "这个账户还没有村。请联系乡镇管理员为你分配村，不要在本机另建村。",
        "This account has no village yet. Ask the township office to assign you one; do not set up another on this phone.";
    CreateRefusedSignedIn => "已登录的账户不能在本机另建村：你的村从服务器同步而来。",
        "A signed-in account cannot set up another village on this phone: yours comes from the server.";
    LoginLocalVillage => "本机已有在本机建立的村，它不属于这个账户，不能同步到服务器，所以没有登录。请先在设置中导出备份，再请乡镇管理员处理。本机村名：",
        "This phone holds a village set up on it, which is not this account's and cannot be synced, so you are not signed in. Export a backup in Settings first, then ask the township office. The village here: ";
    AddMeasure => "添加措施", "Add a measure";
    MeasureTitle => "措施名称", "Measure";
    Recurrence => "周期", "How often";
    Remove => "删除", "Remove";
    FixErrors => "请先改正标红的内容。", "Please correct the fields marked in red.";
    Unsynced => "条记录未同步", "records not yet synced";
    ChangePasswordLabel => "修改账户密码", "Change the account password";
    ChangePasswordIntro => "修改后，你在其他手机上的登录都会退出，需要用新密码重新登录。", "Afterwards, your other phones are signed out and must sign in with the new password.";
    MustChangePassword => "管理员已重置你的密码。请先设置你自己的新密码，才能同步。", "An administrator reset your password. Choose your own new password before you can sync.";
    CurrentPassword => "当前密码", "Current password";
    NewPassword => "新密码（至少 8 个字符）", "New password (at least 8 characters)";
    NewPasswordAgain => "再次输入新密码", "New password again";
    ChangePassword => "修改密码", "Change password";
    ChangingPassword => "正在修改…", "Changing…";
    PasswordChanged => "密码已修改，其他手机上的登录已退出。", "The password is changed; your other phones are signed out.";
    PasswordCurrentMissing => "请输入当前密码。", "Enter the current password.";
    PasswordCurrentWrong => "当前密码不对，请重新输入。", "The current password is wrong. Enter it again.";
    PasswordTooShort => "新密码至少要 8 个字符。", "The new password needs at least 8 characters.";
    PasswordTooLong => "新密码最多 256 个字符。", "The new password may have at most 256 characters.";
    PasswordTooCommon => "这个密码太常见，容易被猜到，请换一个。", "This password is too common and easy to guess. Choose another.";
    PasswordSameAsCurrent => "新密码不能与当前密码相同。", "The new password must differ from the current one.";
    PasswordsDiffer => "两次输入的新密码不一样。", "The two new passwords differ.";
    // --- issue15 state ---
    HistoryLoading => "正在读取随访记录……", "Still reading the visit history…";
    // --- issue15 lists ---
    // --- issue15 sync ---
    SyncReceivedOf => "已接收", "Received";
    SyncRecordsUnit => "条", "records";
    // --- issue15 bench ---
    // --- issue15 lead ---
}

/// A key's text in both languages, for messages kept in a signal and shown
/// in whichever language is current when they are read.
pub fn both(key: Key) -> (&'static str, &'static str) {
    (text(Lang::ZhCn, key), text(Lang::En, key))
}

/// The UI language, shared through context. Reading it inside a view makes
/// that view follow a change of language at once.
#[derive(Clone, Copy, Debug)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// The current language (tracked).
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// The text of `key` in the current language (tracked).
    pub fn t(&self, key: Key) -> &'static str {
        text(self.lang.get(), key)
    }

    /// The name of a core value (a method, a visit kind …) in the current
    /// language (tracked).
    pub fn label(&self, value: &impl fieldbook_core::labels::Label) -> &'static str {
        match self.lang.get() {
            Lang::ZhCn => value.zh(),
            Lang::En => value.en(),
        }
    }

    /// One of two texts the core gives in both languages (tracked).
    pub fn pick(&self, zh: &'static str, en: &'static str) -> &'static str {
        match self.lang.get() {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// A text a worker or a template wrote, in Chinese with an optional
    /// English version: the English one in the English UI when there is one,
    /// else the Chinese (tracked).
    pub fn pick_text(&self, zh: &str, en: Option<&str>) -> String {
        match (self.lang.get(), en) {
            (Lang::En, Some(en)) => en.to_string(),
            _ => zh.to_string(),
        }
    }

    /// Switches the language for this session; persisting it is the caller's
    /// choice (see `settings::save_language`).
    pub fn set_lang(&self, lang: Lang) {
        self.lang.set(lang);
    }
}

/// Provides the UI language to every component below, starting with
/// `initial`, and keeps `<html lang>` in step with it.
pub fn provide_i18n(initial: Lang) -> I18n {
    let i18n = I18n {
        lang: RwSignal::new(initial),
    };
    provide_context(i18n);
    Effect::new(move |_| {
        let tag = i18n.lang().tag();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", tag);
        }
    });
    i18n
}

/// The UI language provided by [`provide_i18n`].
///
/// # Panics
/// Outside a component tree that called [`provide_i18n`].
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_key_has_text_in_both_languages() {
        for &key in Key::ALL {
            for lang in Lang::ALL {
                assert!(
                    !text(lang, key).trim().is_empty(),
                    "{key:?} empty in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn chinese_texts_are_chinese_and_english_texts_are_not() {
        for &key in Key::ALL {
            let (zh, en) = (text(Lang::ZhCn, key), text(Lang::En, key));
            assert!(has_cjk(zh), "{key:?} has no Chinese text: {zh}");
            assert!(!has_cjk(en), "{key:?} English text holds Chinese: {en}");
        }
    }

    /// The Chinese UI has no English but proper names; the English UI no
    /// Chinese, not even its punctuation.
    #[test]
    fn chinese_texts_hold_no_english_but_proper_names() {
        const PROPER_NAMES: [&str; 2] = ["CSV", "Wi-Fi"];
        for &key in Key::ALL {
            let mut zh = text(Lang::ZhCn, key).to_string();
            for name in PROPER_NAMES {
                zh = zh.replace(name, "");
            }
            // `{year}`-style placeholders are filled in by the code.
            while let (Some(open), Some(close)) = (zh.find('{'), zh.find('}')) {
                if close < open {
                    break;
                }
                zh.replace_range(open..=close, "");
            }
            assert!(
                !zh.chars().any(|c| c.is_ascii_alphabetic()),
                "{key:?} Chinese text holds English: {}",
                text(Lang::ZhCn, key)
            );
            let en = text(Lang::En, key);
            assert!(
                !en.chars().any(|c| ('\u{3000}'..='\u{303f}').contains(&c)
                    || ('\u{ff00}'..='\u{ffef}').contains(&c)),
                "{key:?} English text holds Chinese punctuation: {en}"
            );
        }
    }

    #[test]
    fn languages_are_stored_by_their_tag_and_chinese_is_the_default() {
        for lang in Lang::ALL {
            let stored = serde_json::to_string(&lang).unwrap();
            assert_eq!(stored, format!("\"{}\"", lang.tag()));
            assert_eq!(serde_json::from_str::<Lang>(&stored).unwrap(), lang);
        }
        assert_eq!(Lang::default(), Lang::ZhCn);
    }
}
