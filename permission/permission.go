// Package permission is the catalogue of what an administrator may be
// allowed to do (8.2.4). A role is a set of these names; a super-admin holds
// them all. The @admin(permission:) schema directive checks them, in one
// place, for every administrator field.
package permission

import "slices"

// A Name is one permission.
type Name = string

// The permissions.
const (
	ManageAdmins    Name = "admins.manage"        // admin accounts and roles
	ReadAudit       Name = "audit.read"           // the audit log
	ManageCatalogue Name = "catalogue.manage"     // the knowledge base; catalogue import and export
	ManageSearch    Name = "search.manage"        // synonyms, hot words, the index
	HandleCases     Name = "cases.handle"         // an agency's cases
	HandleConsults  Name = "consultations.handle" // an agency's consultations
	HandleRatings   Name = "evaluations.handle"   // rectifications and appeals
	ReviewAppeals   Name = "evaluations.review"   // appeals against ratings
	ReadStatistics  Name = "statistics.read"      // 好差评 and search statistics
	CustomerService Name = "customer_service"     // agent chats
	ManageKeys      Name = "keys.manage"          // the platform's signing keys
	ManageIfaces    Name = "interfaces.manage"    // register and test source interfaces
	ReviewIfaces    Name = "interfaces.review"    // review interfaces; the sensitive-word list
	MonitorIfaces   Name = "interfaces.monitor"   // interface health and its alerts
	ManageApps      Name = "apps.manage"          // create apps, bind interfaces, upload, test, submit
	ReviewApps      Name = "apps.review"          // review, publish and take apps offline
	ManageFilings   Name = "filings.manage"       // file a mobile terminal
	ReviewFilings   Name = "filings.review"       // review filings
	ManageSeals     Name = "seals.manage"         // agencies' electronic seals and who may use them
	IssueLicenses   Name = "licenses.issue"       // issue and revoke an agency's electronic licences
	CollectPayments Name = "payments.collect"     // fee items, payment orders, refunds, an agency's receipts
	Reconcile       Name = "payments.reconcile"   // payment notifications and the daily reconciliation
	ManageIncidents Name = "incidents.manage"     // operations incidents and runbooks
)

// All are the permissions with their Chinese names, in display order.
var All = []struct{ Name, Label string }{
	{ManageAdmins, "管理员与角色管理"}, {ReadAudit, "查看审计日志"}, {ManageCatalogue, "事项目录与知识库管理"},
	{ManageSearch, "搜索管理"}, {HandleCases, "办件办理"}, {HandleConsults, "咨询投诉处理"},
	{HandleRatings, "差评整改与申诉"}, {ReviewAppeals, "申诉复核"}, {ReadStatistics, "统计查询"},
	{CustomerService, "人工客服"}, {ManageKeys, "平台密钥管理"},
	{ManageIfaces, "接口注册与测试"}, {ReviewIfaces, "接口审核与敏感词管理"}, {MonitorIfaces, "接口监测与预警"},
	{ManageApps, "应用接入与测试"}, {ReviewApps, "应用审核与上下线"},
	{ManageFilings, "移动端备案"}, {ReviewFilings, "备案审核"}, {ManageSeals, "电子印章管理"}, {IssueLicenses, "证照签发"},
	{CollectPayments, "收费与退款"}, {Reconcile, "支付对账"}, {ManageIncidents, "运维事件处置"},
}

// Known reports whether name is a permission.
func Known(name string) bool {
	return slices.ContainsFunc(All, func(p struct{ Name, Label string }) bool { return p.Name == name })
}

// StaffRole is the built-in role of an agency's staff.
const StaffRole = "部门办理人员"

// StaffPermissions are what StaffRole holds.
var StaffPermissions = []Name{HandleCases, HandleConsults, HandleRatings, CustomerService}
