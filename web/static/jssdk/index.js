/*
 * 全国一体化政务服务平台移动端 JSSDK（9.2.2–9.2.5）
 *
 *   <script src="https://<平台域名>/jssdk/index.js" data-app-id="<应用全局编号>"></script>
 *
 *   lightAppJssdk.user.getTicket({success, fail})  一次性票据：success({ticket, result: "true", message})
 *   lightAppJssdk.user.loginapp({success, fail})   登录：success({Ticket, Result: "true", Message})，Ticket 为本应用的
 *                                                  一次性票据（用户尚未授权本应用时为空）；
 *                                                  已登录时只返回“当前全国一体化政务服务平台移动端已登录”
 *   lightAppJssdk.user.logout({success, fail})     注销
 *
 * 失败时 fail({result: "false", message})（loginapp 为 {Result: "false", Message}）。
 *
 * 在移动端 APP 内，由客户端注入的 window.GovMobileBridge（同名的三个方法）完成；
 * 在浏览器中（开发、演示）只在平台自己的域名下工作，登录状态保存在 localStorage；
 * 其他域名的页面须在移动端中打开（由客户端注入 GovMobileBridge）。
 */
(function (global) {
  'use strict';
  var script = document.currentScript;
  var base = script ? new URL(script.src, global.location.href).origin : global.location.origin;
  var appId = script ? script.getAttribute('data-app-id') : null;
  var KEY = 'govmobile.ticket';
  var LOGGED_IN = '当前全国一体化政务服务平台移动端已登录';
  var NOT_LOGGED_IN = '用户未登录，请先登录全国一体化政务服务平台移动端。';

  function storage() {
    try { return global.localStorage; } catch (e) { return null; }
  }
  function userTicket() {
    var s = storage();
    return s ? s.getItem(KEY) : null;
  }
  function setUserTicket(t) {
    var s = storage();
    if (!s) { return; }
    if (t) { s.setItem(KEY, t); } else { s.removeItem(KEY); }
  }

  function Failure(message, code) { this.message = message; this.code = code; }

  // gql posts a GraphQL request; it rejects with the first error's message.
  function gql(query, variables, ticket) {
    var headers = { 'Content-Type': 'application/json' };
    if (ticket) { headers.Authorization = 'Bearer ' + ticket; }
    return global.fetch(base + '/graphql', { method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables || {} }) })
      .then(function (r) { return r.json(); }, function () { throw new Failure('网络不可用，请检查网络后重试。', 'NETWORK'); })
      .then(function (body) {
        if (body.errors && body.errors.length) {
          var e = body.errors[0];
          throw new Failure(e.message, e.extensions && e.extensions.code);
        }
        return body.data;
      });
  }

  function done(opts, promise, failShape) {
    opts = opts || {};
    promise.then(function (data) {
      if (typeof opts.success === 'function') { opts.success(data); }
    }, function (e) {
      if (typeof opts.fail === 'function') { opts.fail(failShape(e && e.message ? e.message : String(e))); }
    });
  }
  function lower(message) { return { result: 'false', message: message }; }
  function upper(message) { return { Result: 'false', Message: message }; }

  // askConsent shows the app's request and resolves to the user's answer.
  function askConsent(req) {
    var fields = req.fields.map(function (f) { return f.label; }).join('、');
    var text = '“' + req.app.name + '”申请获取您的以下信息：' + fields + '。\n是否同意授权？您可以在用户中心随时撤销。';
    return Promise.resolve(global.confirm(text));
  }

  // The browser path works only on the platform's own origin: elsewhere a
  // page could read the password form and the session. Pages of other
  // origins run inside the terminal, which injects GovMobileBridge.
  var sameOrigin = global.location.origin === base;
  var OUTSIDE = '请在全国一体化政务服务平台移动端中打开本应用。';

  function getTicket() {
    if (!sameOrigin) { return Promise.reject(new Failure(OUTSIDE)); }
    var t = userTicket();
    if (!t) { return Promise.reject(new Failure(NOT_LOGGED_IN)); }
    if (!appId) { return Promise.reject(new Failure('页面引入 JSSDK 时没有给出 data-app-id。')); }
    return gql('query($id: ID!) { appAuthorizationRequest(appId: $id) { authorized fields { key label } app { name } } }', { id: appId }, t)
      .then(function (d) {
        var req = d.appAuthorizationRequest;
        if (req.authorized) { return true; }
        return askConsent(req).then(function (yes) {
          if (!yes) { throw new Failure('用户未授权该应用获取个人信息。'); }
          // Only the fields the user saw are consented to.
          var fields = req.fields.map(function (f) { return f.key; });
          return gql('mutation($id: ID!, $f: [String!]) { authorizeApp(appId: $id, fields: $f) { grantedAt } }', { id: appId, f: fields }, t);
        });
      })
      .then(function () {
        return gql('mutation($id: ID!) { appTicket(appId: $id) { ticket expiresAt } }', { id: appId }, t);
      })
      .then(function (d) {
        return { ticket: d.appTicket.ticket, result: 'true', message: '' };
      }, function (e) {
        if (e && e.code === 'UNAUTHENTICATED') { setUserTicket(null); throw new Failure(NOT_LOGGED_IN); }
        throw e;
      });
  }

  // loginForm asks for a username and password in an overlay.
  function loginForm() {
    return new Promise(function (resolve, reject) {
      var box = document.createElement('div');
      box.id = 'govmobile-login';
      box.setAttribute('style', 'position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647');
      box.innerHTML = '<form style="background:#fff;padding:20px;border-radius:8px;min-width:260px;font:15px sans-serif">' +
        '<p style="margin:0 0 12px;font-weight:bold">登录全国一体化政务服务平台</p>' +
        '<p><input name="username" autocomplete="username" placeholder="用户名" style="width:100%"></p>' +
        '<p><input name="password" type="password" autocomplete="current-password" placeholder="密码" style="width:100%"></p>' +
        '<p class="govmobile-login-error" style="color:#c00;min-height:1em"></p>' +
        '<p><button type="submit">登录</button> <button type="button" name="cancel">取消</button></p></form>';
      var form = box.querySelector('form');
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var input = { username: form.username.value, password: form.password.value };
        gql('mutation($in: LoginInput!) { login(input: $in) { ticket } }', { in: input })
          .then(function (d) { box.remove(); resolve(d.login.ticket); },
            function (e) { box.querySelector('.govmobile-login-error').textContent = e.message; });
      });
      form.cancel.addEventListener('click', function () { box.remove(); reject(new Failure('用户取消了登录。')); });
      document.body.appendChild(box);
    });
  }

  function loginapp() {
    if (!sameOrigin) { return Promise.reject(new Failure(OUTSIDE)); }
    var t = userTicket();
    var check = t ? gql('{ me { id } }', {}, t).then(function (d) { return !!d.me; }, function (e) {
      if (e && e.code === 'UNAUTHENTICATED') { return false; }
      throw e; // the network, not the session: keep the session
    }) : Promise.resolve(false);
    return check.then(function (logged) {
      if (logged) { return LOGGED_IN; }
      setUserTicket(null);
      return loginForm().then(function (session) {
        setUserTicket(session);
        // The page gets the app's one-time ticket, never the session:
        // empty until the user has authorized the app.
        if (!appId) { return { Ticket: '', Result: 'true', Message: '登录成功' }; }
        return gql('mutation($id: ID!) { appTicket(appId: $id) { ticket } }', { id: appId }, session).then(function (d) {
          return { Ticket: d.appTicket.ticket, Result: 'true', Message: '登录成功' };
        }, function () {
          return { Ticket: '', Result: 'true', Message: '登录成功' };
        });
      });
    });
  }

  function logout() {
    if (!sameOrigin) { return Promise.reject(new Failure(OUTSIDE)); }
    var t = userTicket();
    if (!t) { return Promise.resolve({ result: 'true', message: '已退出登录。' }); }
    return gql('mutation { logout }', {}, t).then(function () {
      setUserTicket(null);
      return { result: 'true', message: '已退出登录。' };
    }, function (e) {
      if (e && e.code === 'UNAUTHENTICATED') { setUserTicket(null); return { result: 'true', message: '已退出登录。' }; }
      throw e;
    });
  }

  var bridge = global.GovMobileBridge;
  global.lightAppJssdk = {
    user: {
      getTicket: function (opts) {
        if (bridge && bridge.getTicket) { return bridge.getTicket(opts); }
        done(opts, getTicket(), lower);
      },
      loginapp: function (opts) {
        if (bridge && bridge.loginapp) { return bridge.loginapp(opts); }
        done(opts, loginapp(), upper);
      },
      logout: function (opts) {
        if (bridge && bridge.logout) { return bridge.logout(opts); }
        done(opts, logout(), lower);
      }
    }
  };
})(window);
