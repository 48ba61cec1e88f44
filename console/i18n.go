package console

import (
	"net/http"

	"golang.org/x/text/language"
)

// The console's languages. The operators of this API mostly work in
// Chinese; English is the fallback.
const (
	langEN = "en"
	langZH = "zh"
)

// languages are the supported tags, in langs order, for the matcher.
var (
	langs    = []string{langEN, langZH}
	matcher  = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})
	langTags = map[string]string{langEN: "en", langZH: "zh-CN"}
)

// chooseLanguage follows the language cookie set by the switch, else
// Accept-Language.
func chooseLanguage(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == langEN || ck.Value == langZH) {
		return ck.Value
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := matcher.Match(tags...)
	return langs[i]
}

// switchLanguage sets the language cookie and goes back to where the
// operator was. No credentials needed: it only chooses the language.
func (c *Console) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != langEN && lang != langZH {
		http.NotFound(w, r)
		return
	}
	c.setCookie(w, r, langCookie, lang, 365*24*3600)
	http.Redirect(w, r, safeNext(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// translate returns the text in lang; English texts are their own keys.
func translate(lang, s string) string {
	if lang == langZH {
		if t, ok := zh[s]; ok {
			return t
		}
	}
	return s
}

// zh is the Simplified Chinese catalogue: every visible string of the
// templates and the handlers (a test keeps it complete).
var zh = map[string]string{
	"broadcaster console": "broadcaster 控制台",
	"Now":                 "当前",
	"Runs":                "批次",
	"Run":                 "批次",
	"Recipient":           "收件人",
	"Recipients":          "收件人",
	"Campaigns":           "活动",
	"Campaign":            "活动",
	"Accounts":            "账号",
	"Log out":             "退出",
	"Log in":              "登录",
	"Operator name":       "操作员姓名",
	"Token":               "令牌",
	"signed in as":        "当前操作员",
	"read only":           "只读",
	"read and write":      "读写",
	"Runs in progress":    "正在发送的批次",
	"No run in progress.": "没有正在发送的批次。",
	"Sending is paused for all accounts: the API as a whole is failing.": "所有账号已暂停发送：接口整体故障。",
	"since":                      "开始于",
	"next probe":                 "下次探测",
	"Accounts waiting":           "等待中的账号",
	"Every account may send.":    "所有账号均可发送。",
	"resumes":                    "恢复时间",
	"id":                         "编号",
	"status":                     "状态",
	"total":                      "总数",
	"sent":                       "已发送",
	"failed":                     "失败",
	"unknown":                    "未知",
	"pending":                    "待发送",
	"sending":                    "发送中",
	"skipped":                    "已跳过",
	"running":                    "发送中",
	"completed":                  "已完成",
	"cancelled":                  "已取消",
	"active":                     "进行中",
	"paused":                     "已暂停",
	"invalid":                    "无效",
	"broken":                     "熔断",
	"resting":                    "休息",
	"paced":                      "限速",
	"ready":                      "就绪",
	"rate":                       "速率",
	"per second":                 "每秒",
	"ETA":                        "预计剩余",
	"scheduled for":              "计划时间",
	"started":                    "开始",
	"finished":                   "结束",
	"attempts":                   "尝试次数",
	"success rate":               "成功率",
	"account":                    "账号",
	"any":                        "全部",
	"Filter":                     "筛选",
	"Older":                      "更早",
	"Next page":                  "下一页",
	"Deliveries":                 "投递",
	"API code":                   "接口代码",
	"error":                      "错误",
	"updated":                    "更新时间",
	"Failures by code and error": "按代码和错误分组的失败",
	"No failures.":               "没有失败。",
	"count":                      "数量",
	"Attempts per second":        "每秒尝试次数",
	"No attempts yet.":           "尚无尝试。",
	"Re-send":                    "重新发送",
	"Re-send failed and unknown recipients as a new run":                                                    "将失败和未知的收件人作为新批次重新发送",
	"Unknown recipients may already have the message: the API may have sent it before the answer was lost.": "未知状态的收件人可能已经收到消息：接口可能在应答丢失前已发送。",
	"A run can be re-sent once it has completed.":                                                           "批次完成后才能重新发送。",
	"Search a wcId":              "搜索 wcId",
	"Search":                     "搜索",
	"No delivery for this wcId.": "该 wcId 没有投递记录。",
	"HTTP":                       "HTTP",
	"duration":                   "耗时",
	"outcome":                    "结果",
	"API answer":                 "接口应答",
	"attempt":                    "尝试",
	"msgId":                      "msgId",
	"name":                       "名称",
	"schedule":                   "计划",
	"once":                       "一次性",
	"template":                   "模板",
	"Template preview":           "模板预览",
	"title":                      "标题",
	"description":                "描述",
	"page path":                  "页面路径",
	"cover image":                "封面图片",
	"Audience":                   "受众",
	"recipients":                 "位收件人",
	"Next firings":               "接下来的触发时间",
	"zone":                       "时区",
	"None to come.":              "没有即将到来的触发。",
	"Check":                      "检查",
	"No problem found.":          "未发现问题。",
	"problem":                    "问题",
	"note":                       "提示",
	"fix":                        "修复",
	"Pause":                      "暂停",
	"Resume":                     "恢复",
	"Cancel":                     "取消",
	"Its runs":                   "该活动的批次",
	"pacing":                     "节奏",
	"failures in a row":          "连续失败",
	"last failure":               "最近失败",
	"sent today":                 "今日发送",
	"No account has sent yet.":   "尚无账号发送。",
	"Done":                       "完成",
	"Campaign %d is now %s.":     "活动 %d 现在为%s。",
	"Run %d re-sends %d recipients as run %d.":                   "批次 %d 的 %d 位收件人已作为批次 %d 重新发送。",
	"%d of them ended unknown and may already have the message.": "其中 %d 位状态未知，可能已经收到消息。",
	"Refused":                        "已拒绝",
	"Error":                          "错误",
	"Back":                           "返回",
	"Wrong token, or no name given.": "令牌错误或未填写姓名。",
	"Too many failed logins from this address; wait a minute.":                        "该地址登录失败次数过多，请稍候再试。",
	"too many failed logins from this address; wait a minute":                         "该地址登录失败次数过多，请稍候再试",
	"a read or write token is needed":                                                 "需要读取或写入令牌",
	"this needs the write token":                                                      "此操作需要写入令牌",
	"the form is stale or was not sent by the console; reload the page and try again": "表单已过期或不是由控制台提交的，请刷新页面后重试",
	"not found": "未找到",
	"Something went wrong; the details are in the daemon's log.": "出现错误，详情见守护进程日志。",
	"Recent writes": "最近的操作",
	"who":           "操作员",
	"credential":    "凭据",
	"database role": "数据库角色",
	"from":          "来源",
	"action":        "操作",
	"target":        "对象",
	"when":          "时间",
	"live":          "实时",
	"Language":      "语言",
	"No campaign.":  "没有活动。",
	"No run.":       "没有批次。",
	"Pause, resume and cancel need the write token.": "暂停、恢复和取消需要写入令牌。",
	"Re-sending needs the write token.":              "重新发送需要写入令牌。",
}
