-- 1. Templates: an applet as pasted from the bot's message callback.
--
-- Send the mini-program to the bot's WeChat account by hand, then copy the
-- XML of the message callback into applet_templates.content: the bare
-- <appmsg>…</appmsg> element, or the whole callback message (<msg>…</msg>,
-- with its <?xml …?> line and, for a group, the "wxid_…:" line before it).
-- broadcaster sends only the <appmsg> element, byte for byte as written.
-- Dollar quoting ($xml$ … $xml$) keeps the XML exactly as pasted: no quote
-- needs doubling.
--
-- img_url is the cover: an absolute http(s) URL of a png or jpeg of at most
-- 50 KB. `broadcaster check` validates every template; `broadcaster check
-- --network` also fetches the covers.
--
-- Copied the XML out of a JSON request body instead (\" and \n written
-- out)? check says "content looks JSON-escaped"; decode it in place with
--   UPDATE applet_templates SET content = ('"' || content || '"')::json #>> '{}'
--   WHERE name = '…';

INSERT INTO applet_templates (name, img_url, content)
VALUES ('yunpu shop', 'http://photocdn.sohu.com/20120323/Img338614056.jpg', $xml$<?xml version="1.0"?>
<msg>
	<appmsg appid="" sdkver="0">
		<title>云铺海购</title>
		<des>云铺海购</des>
		<type>33</type>
		<url>https://mp.weixin.qq.com/mp/waerrpage?appid=wx07af7e375d21a08c&amp;type=upgrade&amp;upgradetype=3#wechat_redirect</url>
		<appattach>
			<cdnthumburl>3057020100044b30490201000204502c9b9f02032f55f902040ed15eda0204632dc841042461316335306262662d393337322d343361332d383631312d6166613731306362643764300204011400030201000405004c51e500</cdnthumburl>
			<cdnthumbmd5>e1c43f713ebc389dc8f89690aeb7ecb4</cdnthumbmd5>
			<cdnthumblength>58598</cdnthumblength>
			<cdnthumbwidth>720</cdnthumbwidth>
			<cdnthumbheight>576</cdnthumbheight>
			<cdnthumbaeskey>125805800e40722f240220286e3ef74d</cdnthumbaeskey>
			<aeskey>125805800e40722f240220286e3ef74d</aeskey>
			<encryver>0</encryver>
			<filekey>wxid_ctqh94e1ahe722_26_1663944768</filekey>
		</appattach>
		<sourceusername>gh_12566478d436@app</sourceusername>
		<sourcedisplayname>云铺海购</sourcedisplayname>
		<md5>e1c43f713ebc389dc8f89690aeb7ecb4</md5>
		<recorditem><![CDATA[(null)]]></recorditem>
		<weappinfo>
			<username><![CDATA[gh_12566478d436@app]]></username>
			<appid><![CDATA[wx07af7e375d21a08c]]></appid>
			<type>2</type>
			<version>14</version>
			<weappiconurl><![CDATA[http://mmbiz.qpic.cn/mmbiz_png/uLxzSQcibsGzibyibBMLZhib1ick4RhO4ic203iaKMMSL35riafKicdyy8OX0ibjeDrs4Vka2KwTibiaPiaeXBKDQ24pblJO6mg/640?wx_fmt=png&wxfrom=200]]></weappiconurl>
			<pagepath><![CDATA[pages/home/dashboard/index.html?shopAutoEnter=1&is_share=1&share_cmpt=native_wechat&kdt_id=109702811&from_uuid=FgPTe5LTPr00dw21663912217667]]></pagepath>
			<shareId><![CDATA[0_wx07af7e375d21a08c_5a36c4cc14fb8effefecbd92a1f291a6_1663944761_0]]></shareId>
			<appservicetype>0</appservicetype>
			<brandofficialflag>0</brandofficialflag>
			<showRelievedBuyFlag>0</showRelievedBuyFlag>
			<subType>0</subType>
			<isprivatemessage>0</isprivatemessage>
		</weappinfo>
	</appmsg>
	<fromusername>wxid_ctqh94e1ahe722</fromusername>
	<scene>0</scene>
	<appinfo>
		<version>1</version>
		<appname></appname>
	</appinfo>
	<commenturl></commenturl>
</msg>
$xml$);

-- Placeholders are filled per recipient, XML-escaped in content (inside
-- CDATA only "]]>" is split) and query-escaped in img_url:
--   {{wcId}} the recipient, {{campaignId}}, {{runId}}, {{deliveryId}}, and
--   {{date}} the run's date (YYYY-MM-DD, in scheduler.timezone).
-- Here the same applet greets the recipient and tags the page it opens, for
-- attribution in the mini-program's analytics. The page path is CDATA, so
-- its & stays a plain &; in the <title> text a value like "A&B" is escaped.
INSERT INTO applet_templates (name, img_url, content)
SELECT 'yunpu shop (tracked)', img_url,
       replace(replace(content,
               '<title>云铺海购</title>', '<title>云铺海购 · {{wcId}}</title>'),
               'from_uuid=FgPTe5LTPr00dw21663912217667', 'from_uuid={{wcId}}&run={{runId}}&d={{date}}')
FROM applet_templates
WHERE name = 'yunpu shop';
